"""The YAML emitter round-trips any plain data exactly and keeps the style yamllint accepts."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from stackgen.output import yaml_emitter

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
tricky = st.sampled_from(["", "yes", "no", "on", "null", "~", "1e3", "0x1F", "010", "12:30", "2024-01-01", "- a",
                          "a: b", "#c", "a #b", "'q'", '"d"', "x\n", "x\ny", "x\n\n", " lead", "trail ", "{{ $v }}",
                          "*a", "&b", "!t", "%p", "@x", "`x`", "|", ">", "?", ":", "-", "5..", "+Inf", ".inf",
                          "multi\nline\n", "a\tb", "\u00e9t\u00e9", "line\r\nbreak"])
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text | tricky
keys = text | tricky
data = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                    max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(data)
def test_round_trip(value):
    assert yaml.safe_load(yaml_emitter.dump(value)) == value


def test_style_matches_review_expectations():
    out = yaml_emitter.dump({"b": [{"x": 1, "a": "multi\nline"}], "a": [], "c": "200", "d": "#chan"})
    assert out == ("---\na: []\nb:\n- a: |-\n    multi\n    line\n  x: 1\nc: '200'\nd: '#chan'\n")
