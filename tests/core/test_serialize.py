"""Generated JSON: orjson's bytes are the stdlib's `json.dumps(sort_keys=True, indent=2, ensure_ascii=False)`,
but for the exponent of small floats; what orjson refuses falls back to the stdlib."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from stackgen.output.serialize import json_text


def _stdlib(data: object) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _outside_small_range(value: float) -> bool:
    return value == 0 or not 1e-9 <= abs(value) < 1e-4


scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.floats(
    allow_nan=False, allow_infinity=False).filter(_outside_small_range)
documents = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                               max_size=4),
                         max_leaves=20)


@settings(max_examples=400, deadline=None)
@given(documents)
def test_the_same_bytes_as_the_stdlib(data):
    assert json_text(data) == _stdlib(data)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=1e-9, max_value=1e-4, exclude_max=True) | st.floats(min_value=-1e-4, max_value=-1e-9,
                                                                               exclude_min=True))
def test_a_small_float_reads_back_as_the_same_float(value):
    text = json_text({"threshold": value})
    assert json.loads(text)["threshold"] == value and math.isfinite(json.loads(text)["threshold"])


def test_what_orjson_refuses_the_stdlib_writes():
    for data in ({"n": 2**70}, {1: "integer key"}, [{"deep": -(2**64)}]):
        assert json_text(data) == _stdlib(data)


def test_a_dashboard_like_document():
    data = {"title": 'Q "quoted" </script> \u2028 é😀', "panels": [{"id": 2, "gridPos": {"x": 0}}, {}], "empty": [],
            "threshold": 0.95, "tags": []}
    assert json_text(data) == _stdlib(data)
    assert json_text({"tiny": 1e-05}) == '{\n  "tiny": 0.00001\n}\n'  # the one difference, written down
