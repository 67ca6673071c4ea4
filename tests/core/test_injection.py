"""No value from the spec changes the syntax around it in a generated file.

A hostile spec (quotes, backslashes, newlines, non-ASCII and Go-template braces in every value that
reaches hand-written syntax, saved under a file name holding a newline) renders and passes every real
validator, and each value reads back exactly; what no format can hold is refused at its line. The
format rules themselves are checked against the tools' own readers: promtool, amtool, and a
transcription of Logstash's treetop grammar.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st
from lark import Tree
from typer.testing import CliRunner

from stackgen.checks.logstash import check_pipeline
from stackgen.cli import app
from stackgen.model.names import header, slo_tests_file
from stackgen.output.quoting import (
    alertmanager_matcher,
    logstash_comment,
    logstash_string,
    logstash_string_problem,
    one_line,
    promql_string,
)
from stackgen.output.serialize import yaml_text
from stackgen.output.templating import environment
from stackgen.parsers import gotemplate
from stackgen.parsers.logstash_grammar import parse, parser

BASE = Path(__file__).resolve().parent.parent / "bad_specs" / "base.yaml.txt"

# A spec file name that, printed raw into a comment, would end it and add a Logstash input.
HOSTILE_NAME = "mini\ninput { stdin { } }\n#\x01${HOME}.yaml"
QUEUE = 'a"b\\c\nd é'  # the label value; the matcher below spells it in PromQL
QUEUE_MATCHER = 'queue="a\\"b\\\\c\\nd é"'
OWNER = ' a"b\\c d '  # amtool trims unquoted values and refuses a bare quote
SECURITY_LOGGER = "it's \\\"sec\\\"ur\\ity\nlog"  # both quotes, but each " after a backslash
ERROR_LEVEL = "ÉR'ROR"
LOG_MOUNT = "/var/log/it's"


def _hostile(data: dict[str, Any]) -> None:
    service = data["services"][0]
    service["metrics"].append({"name": "queue_size", "type": "gauge", "help": "Jobs.", "labels": ["queue"]})
    service["alerts"][0]["bad"]["matchers"] = ['code=~"5\\\\d\\\\d"']  # the regex 5\d\d, escaped for PromQL
    service["alerts"].append({
        "name": "QueueDeep", "kind": "threshold", "severity": "warning", "for": "1m",
        "gauge": {"metric": "queue_size", "matchers": [QUEUE_MATCHER]}, "threshold": 10,
        "summary": "Queue \n  {{- $labels.queue -}}  \t deep",
        "description": "{{ $value }} jobs wait in {{ $labels.queue }}.",
        "runbook_url": "https://runbooks.example.com/{{$labels.job}}/QueueDeep",
        "labels": {"owner": OWNER},
        "annotations": {"hint": "a {{- $value | humanize -}} b"},
    })
    service["metrics"].append({"name": "jobs_total", "type": "counter", "help": "Jobs.", "labels": ["queue", "code"]})
    service["slos"] = [{
        "name": "jobs", "description": "Jobs that succeed.", "objective": 99, "period": "30d",
        "sli": {"kind": "availability", "bad": {"metric": "jobs_total", "matchers": [QUEUE_MATCHER, 'code=~"5\\\\d\\\\d"']},
                "total": {"metric": "jobs_total", "matchers": [QUEUE_MATCHER]}},
        "alerting": {"runbook_url": "https://runbooks.example.com/{{$labels.job}}/jobs",
                     "page": {"labels": {"owner": OWNER}, "annotations": {"hint": "{{- $labels.queue -}} \n"}}},
    }]
    service["logs"] = {
        "file": "api.log", "security_logger": SECURITY_LOGGER, "error_level": ERROR_LEVEL,
        "fields": [{"name": "timestamp", "type": "date"}, {"name": "level", "type": "keyword"},
                   {"name": "logger", "type": "keyword"}, {"name": "message", "type": "text"}],
    }
    data["logging"] = {"log_mount": LOG_MOUNT}


@pytest.fixture(scope="module")
def hostile_render(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    data = yaml.safe_load(BASE.read_text(encoding="utf-8"))
    _hostile(data)
    spec = folder / HOSTILE_NAME
    spec.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    out = folder / "out"
    rendered = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out)])
    assert rendered.exit_code == 0, rendered.output
    return spec, out


@pytest.mark.slow
def test_hostile_spec_passes_every_real_validator(hostile_render):
    spec, out = hostile_render
    checked = CliRunner().invoke(app, ["check", "--spec", str(spec), "--out", str(out)])
    assert checked.exit_code == 0, checked.output


def test_spec_file_name_stays_inside_one_comment_line(hostile_render):
    _, out = hostile_render
    pipeline = (out / "logstash/pipeline/logstash.conf").read_text(encoding="utf-8")
    first = pipeline.splitlines()[0]
    assert first == "# " + logstash_comment(header(HOSTILE_NAME))
    assert '"mini\\ninput { stdin { } }\\n#\\u0001$ {HOME}.yaml"' in first  # Logstash expands ${VAR} in comments
    assert "${" not in pipeline
    plugins = [str(node.children[0]) for node in parse(pipeline).iter_subtrees() if node.data == "plugin"]
    assert "stdin" not in plugins and "file" in plugins
    for path in sorted(out.rglob("*.yml")):
        text = path.read_text(encoding="utf-8")
        assert text.splitlines()[0] == "# " + header(HOSTILE_NAME), path
        yaml.safe_load(text)


def _compared_strings(tree: Tree) -> list[str]:
    return [str(n.children[-1].children[0])[1:-1] for n in tree.iter_subtrees()
            if n.data == "compare_expr" and isinstance(n.children[-1], Tree) and n.children[-1].data == "string"]


def test_logstash_reads_back_every_value_exactly(hostile_render):
    _, out = hostile_render
    tree = parse((out / "logstash/pipeline/logstash.conf").read_text(encoding="utf-8"))
    assert {SECURITY_LOGGER, ERROR_LEVEL} <= set(_compared_strings(tree))
    paths = [str(n.children[-1].children[0])[1:-1] for n in tree.iter_subtrees()
             if n.data == "attribute" and str(n.children[0]) == "path"]
    assert paths == [f"{LOG_MOUNT}/api/api.log"]


def test_series_and_expected_labels_carry_the_unescaped_values(hostile_render):
    _, out = hostile_render
    tests = yaml.safe_load((out / "prometheus/tests/api-alerts.test.yml").read_text(encoding="utf-8"))["tests"]
    series = [s["series"] for case in tests for s in case["input_series"]]
    assert f"queue_size{{instance=\"api:9100\", job=\"api\", queue={promql_string(QUEUE)}}}" in series
    codes = {m.group(1) for s in series if (m := re.search(r'code="([^"]*)"', s))}
    assert codes and any(re.fullmatch(r"5\d\d", c) for c in codes), codes  # the regex, not its escaped spelling
    expected = [a for case in tests for check in case["alert_rule_test"] for a in check["exp_alerts"]
                if check["alertname"] == "QueueDeep"]
    assert expected and all(a["exp_labels"]["queue"] == QUEUE and a["exp_labels"]["owner"] == OWNER for a in expected)
    assert {a["exp_annotations"]["summary"] for a in expected} == {f"Queue{QUEUE}deep"}
    slo_tests = yaml.safe_load((out / slo_tests_file("api")).read_text(encoding="utf-8"))["tests"]
    slo_series = {s["series"] for case in slo_tests for s in case["input_series"]}
    assert any(s.startswith("jobs_total{code=\"5") and f"queue={promql_string(QUEUE)}" in s for s in slo_series)
    good_codes = {m.group(1) for s in slo_series if (m := re.search(r'code="([^"]*)"', s))}
    assert any(not re.fullmatch(r"5\d\d", c) for c in good_codes), good_codes  # the good events escape the bad regex


# --- Logstash strings: what its grammar reads --------------------------------------------------------

def _treetop_string_end(text: str) -> int | None:
    """Logstash's `quote ( '\\' quote / !quote . )* quote`, transcribed: where the literal at text[0] ends."""
    quote, i = text[0], 1
    while i < len(text):
        if text.startswith("\\" + quote, i):
            i += 2
        elif text[i] != quote:
            i += 1
        else:
            return i + 1
    return None


HOSTILE = "ab\"'\\/\n é#{}[],$"


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(["DQ_STRING", "SQ_STRING", "REGEX"]), st.text(alphabet=HOSTILE, max_size=12))
@example("DQ_STRING", 'a\\\\"')  # "a\\" does not end: its last backslash escapes the quote
@example("SQ_STRING", "a\\\\'")
@example("DQ_STRING", 'a\\\nb"')  # a backslash before a newline is two plain characters
@example("REGEX", "a\nb/")
def test_grammar_tokens_end_where_logstash_ends_them(terminal: str, rest: str):
    pattern = parser().get_terminal(terminal).pattern.to_regexp()
    opening = {"DQ_STRING": '"', "SQ_STRING": "'", "REGEX": "/"}[terminal]
    text = opening + rest
    match = re.match(pattern, text)
    assert (match.end() if match else None) == _treetop_string_end(text)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=HOSTILE, max_size=12))
def test_logstash_strings_read_back_as_written(value: str):
    if problem := logstash_string_problem(value):
        if "environment variable" in problem:
            assert "${" in value
        else:  # refused only because neither quoting would read back
            for quote in "\"'":
                literal = f"{quote}{value}{quote}"
                assert _treetop_string_end(literal) != len(literal)
        return
    literal = logstash_string(value)
    assert _treetop_string_end(literal) == len(literal)
    assert _compared_strings(parse(f"filter {{ if [a] == {literal} {{ drop {{ }} }} }}")) == [value]


def test_format_text_in_a_condition_is_not_a_field_read():
    """A security_logger of "%{x}" is compared as written; only plugin settings are formatted."""
    pipeline = 'filter { if [logger] == "%{x}" or "y" in ["%{z}"] { mutate { add_tag => ["%{tag}"] } } }'
    assert check_pipeline(pipeline, {"logger"}) == [
        "line 1: the pipeline reads field 'tag' (%{tag}), which is not in the log schema"]


def test_templates_cannot_emit_an_unescaped_value():
    env = environment()
    assert env.from_string("x => {{ v | q }} {{ n }}").render(v='a"b', n=5) == "x => 'a\"b' 5"
    assert env.from_string("if {{ f | field }}").render(f="level") == "if [level]"
    with pytest.raises(TypeError, match="not escaped"):
        env.from_string("x => {{ v }}").render(v="plain")
    with pytest.raises(ValueError, match="field reference"):
        env.from_string("if {{ f | field }}").render(f="a] or [b")
    with pytest.raises(jinja2.TemplateError):
        env.from_string("# {{ h | nope }}").render(h="x")


@pytest.mark.parametrize("name", ["a\nb.yaml", "a\rb.yaml", "a\x85b.yaml", "a\u2028b.yaml", "a\x01b.yaml",
                                  "a\tb.yaml", "plain é.yaml"])
def test_yaml_header_is_one_comment_line_for_any_file_name(name: str):
    text = yaml_text({"k": "v"}, header(name))
    assert text.replace(header(name), "HEADER") == yaml_text({"k": "v"}, "HEADER")
    assert header(name).isprintable()
    assert yaml.safe_load(text) == {"k": "v"}
    assert one_line("plain é.yaml") == "plain é.yaml"


# --- Alertmanager matchers on amtool's command line --------------------------------------------------

AMTOOL_VALUES = ['a"b', "back\\", "\\n", " lead", "trail ", "two\nlines", "é", 'q\\"', "x=y,z", ""]


def test_amtool_reads_every_label_value_exactly(tmp_path: Path):
    # `match` compares plain strings (no matcher parsing): the ground truth the arguments must reach.
    routes = [{"match": {"owner": v}, "receiver": f"r{i}"} for i, v in enumerate(AMTOOL_VALUES)]
    config = {"route": {"receiver": "none", "routes": routes},
              "receivers": [{"name": "none"}, *({"name": f"r{i}"} for i in range(len(AMTOOL_VALUES)))]}
    (tmp_path / "am.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    check = subprocess.run(["amtool", "check-config", "am.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for i, value in enumerate(AMTOOL_VALUES):
        result = subprocess.run(["amtool", "config", "routes", "test", "--config.file=am.yml",
                                 f"--verify.receivers=r{i}", alertmanager_matcher("owner", value)],
                                cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, (value, result.stdout + result.stderr)


# --- PromQL strings ----------------------------------------------------------------------------------

PROMQL_VALUES = ['a"b', "back\\", "\\n", "two\nlines", "tab\tcr\r", "nul\x00del\x7f", "é😀", "{x=\"y\"}", "", " "]


def test_promql_strings_read_back_by_promtool(tmp_path: Path):
    """Each value, quoted into a series, is the label value promtool's series parser reads."""
    series = [{"series": f"m{{v={promql_string(v)}}}", "values": "1x3"} for v in PROMQL_VALUES]
    expected = [{"exp_labels": {"v": v}} for v in PROMQL_VALUES if v]  # an empty value is no label at all
    expected.append({"exp_labels": {}})
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(
        {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": "m"}]}]}), encoding="utf-8")
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series,
                   "alert_rule_test": [{"eval_time": "1m", "alertname": "A", "exp_alerts": expected}]}]},
        allow_unicode=True), encoding="utf-8")
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all("\n" not in promql_string(v) for v in PROMQL_VALUES)  # the lexer ends a string at a raw newline


# --- Go templates: what Prometheus accepts and renders -----------------------------------------------

TEMPLATES = [
    "a \n {{- $value }} \n b", "a {{ $value -}} \n\t b", "a {{- $value -}} b", "{{- $value}}x",
    "{{\t$value\n|\nhumanize\r}}", "x }} y", "{{ $labels.job }}{{$labels.job}}", "{{ $value|humanizePercentage }}",
    "a\u00a0{{- $value }}", "{{ $labels.nope }}|", " {{ $value -}}\n", "{{ $value -}}{{- $value }}",
    "q\r\n{{- $labels.instance -}}\r\n\tz",
]
REFUSED = ["{{-$value}}", "{{ $value-}}", "{{\u00a0$value}}", "{{- -}}", "{{ $value }} {{", "{{ .Value }}",
           "{{ $value | printf }}"]


def test_template_subset_is_checked_by_promtool(tmp_path: Path):
    """Every template we accept, promtool accepts; and it renders it exactly as we predict."""
    labels = {"job": 'j"\\ob', "instance": "i\nst"}
    rules, checks = [], []
    for i, text in enumerate(TEMPLATES):
        gotemplate.check_template(text)
        rules.append({"alert": f"A{i}", "expr": "m", "annotations": {"x": text}})
        checks.append({"eval_time": "1m", "alertname": f"A{i}", "exp_alerts": [
            {"exp_labels": labels, "exp_annotations": {"x": gotemplate.render(text, labels, 0.0123)}}]})
    for text in REFUSED:
        with pytest.raises(ValueError):
            gotemplate.check_template(text)
    (tmp_path / "rules.yml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": rules}]}))
    series = "m{" + ", ".join(f"{k}={promql_string(v)}" for k, v in labels.items()) + "}"
    (tmp_path / "test.yml").write_text(yaml.safe_dump({
        "rule_files": ["rules.yml"], "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": [{"series": series, "values": "0.0123x5"}],
                   "alert_rule_test": checks}]}))
    result = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
