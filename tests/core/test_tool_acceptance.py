"""The spec accepts only what Prometheus and Alertmanager accept, and predicts what they do.

Each verdict of the spec's validators is compared with the real tool's on the text stackgen would
write: a value the spec accepts must pass promtool/amtool, and the values it refuses here are ones
a tool refuses (the bad-spec corpus, tests/bad_specs/tool_*, pins the located messages).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from stackgen.model.routing import receivers_for
from stackgen.spec.alertmanager import RootRoute, WebhookConfig
from stackgen.spec.alerts import ErrorRatioAlert, RawAlert
from stackgen.spec.logs import ServiceLogs
from stackgen.spec.service import Service
from stackgen.spec.types import MAX_DURATION_MS, MAX_REPLICAS, Duration, Matcher, SecretRef

ROOT = Path(__file__).resolve().parent.parent.parent
CORPUS = ROOT / "tests" / "bad_specs"


def _promtool_accepts(tmp_path: Path, expr: str, for_: str = "0s") -> tuple[bool, str]:
    rules = {"groups": [{"name": "g", "rules": [{"alert": "A", "expr": expr, "for": for_}]}]}
    path = tmp_path / "rules.yml"
    path.write_text(json.dumps(rules), encoding="utf-8")  # JSON is YAML, and escapes every character
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode == 0, result.stdout + result.stderr


def _amtool_config(tmp_path: Path, route: dict[str, Any]) -> Path:
    config = {"route": {"receiver": "miss", **route}, "receivers": [{"name": "hit"}, {"name": "miss"}]}
    path = tmp_path / "alertmanager.yml"
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


def _amtool_accepts(tmp_path: Path, route: dict[str, Any]) -> tuple[bool, str]:
    path = _amtool_config(tmp_path, route)
    result = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode == 0, result.stdout + result.stderr


def _spec_accepts(matcher: str) -> bool:
    try:
        Matcher.parse(matcher)
    except ValueError:
        return False
    return True


# --- matchers: RE2 and the quoting both tools read ------------------------------------------------------

# The text between the quotes, as a user writes it in the spec (a Python literal here).
ACCEPTED_VALUES = [
    "5..", "5\\\\d\\\\d", "[[:alpha:]]+", "(?P<name>a)b", "\\\\pL+", 'a\\"b', "x\\ny", "(?i)crit.*", "é.*", "[]a]",
    "a|b|", "", "crit(?i)ical",  # flags mid-pattern: Go reads them, Python's re refuses them
]
REFUSED_VALUES = {
    "(?=5)5..": "lookahead",
    "(?!4)...": "negative lookahead",
    "(?<=a)b": "lookbehind",
    "(c)\\\\1": "backreference",
    "\\d\\d": "PromQL string escape \\d",
    "\\q": "PromQL string escape \\q",
    "a\nb": "raw newline",
    "(?<n>a)": "named group syntax Go's regexp (Prometheus 2.42) lacks",
    "\\\\C": "\\C, RE2's any byte, which Go's regexp lacks",
    "a)|(b": "unbalanced parenthesis",
    "a{1001}": "repeat count over 1000",
}


@pytest.mark.parametrize("value", ACCEPTED_VALUES)
def test_accepted_matchers_pass_promtool_and_amtool(value: str, tmp_path: Path):
    for op in ("=~", "="):
        matcher = f'job{op}"{value}"'
        assert _spec_accepts(matcher), matcher
        ok, output = _promtool_accepts(tmp_path, f"up{{{matcher}}}")
        assert ok, output
        ok, output = _amtool_accepts(tmp_path, {"routes": [{"receiver": "hit", "matchers": [matcher]}]})
        assert ok, output


@pytest.mark.parametrize("value", sorted(REFUSED_VALUES))
def test_refused_matchers_are_ones_a_tool_refuses(value: str, tmp_path: Path):
    matcher = f'job=~"{value}"'
    assert not _spec_accepts(matcher), REFUSED_VALUES[value]
    promtool_ok, _ = _promtool_accepts(tmp_path, f"up{{{matcher}}}")
    amtool_ok, _ = _amtool_accepts(tmp_path, {"routes": [{"receiver": "hit", "matchers": [matcher]}]})
    assert not (promtool_ok and amtool_ok), f"both tools accept {matcher!r}; the spec should too"


def test_refused_matcher_messages_name_the_cause():
    with pytest.raises(ValueError, match=r"RE2 syntax\): invalid perl operator: \(\?="):
        Matcher.parse('code=~"(?=5)5.."')
    with pytest.raises(ValueError, match=r"RE2 syntax\): invalid escape sequence: \\1"):
        Matcher.parse('code=~"(c)\\\\1"')
    with pytest.raises(ValueError, match=r"unknown escape \\d .* write \\\\d to pass \\d to the regular expression"):
        Matcher.parse('code=~"\\d"')
    with pytest.raises(ValueError, match=r"write \\\\d for a backslash followed by d"):
        Matcher.parse('path="C:\\d"')
    with pytest.raises(ValueError, match=r"control character U\+000A"):
        Matcher.parse('code="a\nb"')


# (matcher, label value): Python's `re` reads each differently from Go's regexp.
ROUTING_CASES = [
    ('severity=~"[[:alpha:]]+"', "critical"),  # a POSIX class in RE2; a set of "[:alph" in Python
    ('severity=~"[[:alpha:]]+"', "crit1"),
    ('code=~"5\\\\.."', "5.x"),  # the regex is 5\.. once PromQL/Alertmanager unquote it
    ('code=~"5\\\\.."', "50x"),
    ('code=~"\\\\d+"', "٣"),  # Go's \d is ASCII only; Python's matches any Unicode digit
    ('code!~"\\\\d+"', "٣"),
    ('severity="a\\\\b"', "a\\b"),
]


@pytest.mark.parametrize("matcher, value", ROUTING_CASES)
def test_routing_prediction_agrees_with_alertmanager(matcher: str, value: str, tmp_path: Path):
    route = {"routes": [{"receiver": "hit", "matchers": [matcher]}]}
    label = Matcher.parse(matcher).label
    config = _amtool_config(tmp_path, route)
    result = subprocess.run(["amtool", "config", "routes", "test", f"--config.file={config}", f"{label}={value}"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    predicted = receivers_for(RootRoute.model_validate({"receiver": "miss", **route}), {label: value})
    assert predicted == [result.stdout.strip()]


# --- durations ------------------------------------------------------------------------------------------

def test_longest_duration_passes_promtool_and_a_longer_one_is_refused(tmp_path: Path):
    longest = Duration.parse("10y")
    assert int(longest) == MAX_DURATION_MS and str(longest) == "3650d"
    ok, output = _promtool_accepts(tmp_path, "up == 0", for_=str(longest))
    assert ok, output
    ok, output = _promtool_accepts(tmp_path, "up == 0", for_="300y")
    assert not ok and "duration out of range" in output
    for too_long in ("300y", "3650d1ms", "99999999999999999999y"):
        with pytest.raises(ValueError, match=r"is too long: at most 10y \(3650d\)"):
            Duration.parse(too_long)


def _error_ratio(**extra: Any) -> dict[str, Any]:
    return {"name": "ApiErrors", "kind": "error_ratio", "severity": "critical", "summary": "s", "description": "d",
            "runbook_url": "https://runbooks.example.com/x", "bad": {"metric": "a_total"},
            "total": {"metric": "a_total"}, "threshold": 0.1, **extra}


def test_zero_window_is_refused_like_promtool_refuses_a_zero_range(tmp_path: Path):
    ok, output = _promtool_accepts(tmp_path, "rate(a_total[0s]) > 0")
    assert not ok and "duration must be greater than 0" in output
    with pytest.raises(ValidationError, match="must be longer than 0s"):
        ErrorRatioAlert.model_validate(_error_ratio(window="0s"))
    assert ErrorRatioAlert.model_validate(_error_ratio(window="1ms")).window == 1


# --- Alertmanager routes ---------------------------------------------------------------------------------

@pytest.mark.parametrize("group_by, accepted", [
    (["alertname", "severity"], True), (["..."], True), (["alert-name"], False), (["...", "alertname"], False),
    (["alertname", "alertname"], False), (["0day"], False),
])
def test_group_by_verdict_matches_amtool(group_by: list[str], accepted: bool, tmp_path: Path):
    ok, output = _amtool_accepts(tmp_path, {"group_by": group_by})
    assert ok == accepted, output
    if accepted:
        assert RootRoute.model_validate({"receiver": "miss", "group_by": group_by}).group_by == group_by
    else:
        with pytest.raises(ValidationError):
            RootRoute.model_validate({"receiver": "miss", "group_by": group_by})


@pytest.mark.parametrize("field", ["group_interval", "repeat_interval"])
def test_zero_route_intervals_are_refused_like_amtool(field: str, tmp_path: Path):
    ok, output = _amtool_accepts(tmp_path, {field: "0s"})
    assert not ok and f"{field} cannot be zero" in output
    with pytest.raises(ValidationError, match="must be longer than 0s"):
        RootRoute.model_validate({"receiver": "miss", field: "0s"})


@pytest.mark.parametrize("url, accepted", [
    ("http://hooks.example.com:8080/alerts", True), ("http://[::1]:5001/", True), ("https://10.0.0.7/a?b=%20", True),
    ("http:///alerts", False), ("http://exa%zzmple/alerts", False), ("http://hooks.example.com/a%zz", False),
])
def test_webhook_url_verdict_matches_amtool(url: str, accepted: bool, tmp_path: Path):
    config = {"route": {"receiver": "hook"}, "receivers": [{"name": "hook", "webhook_configs": [{"url": url}]}]}
    path = tmp_path / "alertmanager.yml"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True, timeout=60)
    assert (result.returncode == 0) == accepted, result.stdout
    if accepted:
        assert WebhookConfig.model_validate({"url": url}).url == url
    else:
        with pytest.raises(ValidationError):
            WebhookConfig.model_validate({"url": url})


# --- raw PromQL ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expr, accepted", [
    ("sum by (job) (rate(a_total[5m])) > 0", True), ("absent(up{job=\"a\"})", True),
    ("max(queue_depth) by (instance > 10", False), ("rate(a_total[0s]) > 0", False),
    ('up{job=~"(?=a)"}', False), ('up{job="\\d"}', False),
])
def test_raw_alert_expr_verdict_matches_promtool(expr: str, accepted: bool, tmp_path: Path):
    ok, output = _promtool_accepts(tmp_path, expr)
    assert ok == accepted, output
    raw = {k: v for k, v in _error_ratio().items() if k not in ("bad", "total", "threshold")}
    data = {**raw, "kind": "raw", "expr": expr}
    if accepted:
        assert RawAlert.model_validate(data).expr == expr
    else:
        with pytest.raises(ValidationError, match="not valid PromQL"):
            RawAlert.model_validate(data)


# --- hosts, counts, paths ----------------------------------------------------------------------------------

def _service(**extra: Any) -> dict[str, Any]:
    data = yaml.safe_load((CORPUS / "base.yaml.txt").read_text(encoding="utf-8"))["services"][0]
    return {**data, **extra}


@pytest.mark.parametrize("host, accepted", [
    ("api", True), ("api-1.prod.svc.cluster.local", True), ("10.0.0.7", True), ("[::1]", True),
    ("api_1", False), ("-api", False), ("a..b", False), ("::1", False), ("a" * 64, False), ("api\n", False),
])
def test_service_host_is_a_host_name(host: str, accepted: bool):
    if accepted:
        assert Service.model_validate(_service(host=host)).host == host
    else:
        with pytest.raises(ValidationError, match="is not a host name"):
            Service.model_validate(_service(host=host))


def test_replicas_are_bounded():
    assert Service.model_validate(_service(replicas=MAX_REPLICAS)).replicas == MAX_REPLICAS
    with pytest.raises(ValidationError, match=f"more than the {MAX_REPLICAS} stackgen accepts"):
        Service.model_validate(_service(replicas=MAX_REPLICAS + 1))


@pytest.mark.parametrize("name", [".", "..", "a/b", "a\x00b", ""])
def test_log_file_name_is_a_file_name(name: str):
    fields = [{"name": "message", "type": "text"}]
    with pytest.raises(ValidationError, match=r"names a folder|should match pattern"):
        ServiceLogs.model_validate({"file": name, "fields": fields})
    assert ServiceLogs.model_validate({"file": "...log", "fields": fields}).file == "...log"


@pytest.mark.parametrize("path, problem", [
    ("/run/secrets/../../etc/shadow", "not a normalized path"), ("../secret", "not a normalized path"),
    ("secrets/./x", "not a normalized path"), ("/run//secrets/x", "not a normalized path"),
    ("/run/secrets/", "names a folder"), ("/", "names a folder"), ("", "not a usable path"),
    ("/run/secrets/a\x00", "not a usable path"),
    ("/run/secrets/slack-url", None), ("secrets/slack-url", None), ("slack.url", None),
])
def test_secret_file_paths_are_clean(path: str, problem: str | None):
    if problem is None:
        assert SecretRef.model_validate({"file": path}).file == path
    else:
        with pytest.raises(ValidationError, match=problem):
            SecretRef.model_validate({"file": path})


# --- the real command line ----------------------------------------------------------------------------------

def test_re2_prints_nothing_of_its_own(tmp_path: Path):
    """RE2 logs each pattern it rejects on the process's stderr, below Python; the CLI must print only ours."""
    name = "tool_matcher_lookahead"
    result = subprocess.run([sys.executable, "-m", "stackgen", "render", "--spec", f"{name}.yaml",
                             "--out", str(tmp_path / "out")], cwd=CORPUS, capture_output=True, text=True,
                            timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 2
    assert result.stderr == (CORPUS / f"{name}.expected").read_text(encoding="utf-8")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("folder, accepted", [
    ("/app/logs", True), ("/app/../etc", False), ("/app//logs", False), ("/app/./logs", False), ("/app/logs/", False),
])
def test_log_folders_are_normalized(folder: str, accepted: bool):
    fields = [{"name": "message", "type": "text"}]
    if accepted:
        assert ServiceLogs.model_validate({"file": "a.log", "directory": folder, "fields": fields}).directory == folder
    else:
        with pytest.raises(ValidationError, match="not a normalized path|drop the trailing"):
            ServiceLogs.model_validate({"file": "a.log", "directory": folder, "fields": fields})
