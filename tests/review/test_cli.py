"""`stackgen review` as a command: --base-spec and --base (a real git repository), every format,
invalid input on either side, and the backtest hook."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.review import backtest_hook
from stackgen.review.sides import load_sides
from tests.review.conftest import SPEC_TEXT, check_golden, edit
from tests.review.test_report import CASES

THRESHOLD_HEAD = CASES["alert-threshold"][1]
THRESHOLD_LINE = "  changed HighErrorRate: threshold 0.05 → 0.1, for 2m → 5m"


def invoke(*args: str):
    return CliRunner().invoke(app, ["review", *args])


@pytest.fixture
def specs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """base.yaml (stack.yaml as committed) and stack.yaml (HighErrorRate edited) in the current folder."""
    monkeypatch.chdir(tmp_path)
    Path("base.yaml").write_text(SPEC_TEXT, encoding="utf-8")
    Path("stack.yaml").write_text(THRESHOLD_HEAD, encoding="utf-8")
    return tmp_path


def test_the_whole_markdown_report_with_its_generated_files(specs: Path):
    result = invoke("--base-spec", "base.yaml", "--format", "markdown")
    assert result.exit_code == 0, result.output
    check_golden("cli-alert-threshold.md", result.stdout)
    # The rule file, its promtool tests and the PrometheusRule change; dev keeps its own threshold.
    assert "- `prometheus`: changed `2`" in result.stdout


def test_text_and_json_say_the_same(specs: Path):
    text = invoke("--base-spec", "base.yaml").stdout.splitlines()
    assert text[0] == "stackgen review: base.yaml → stack.yaml: 1 change(s), 0 warning(s); " \
                      f"{int(text[0].split('; ')[1].split()[0])} generated file(s) differ"
    assert text[1:5] == ["", "Alerts", THRESHOLD_LINE, "    per environment: dev keeps 0.2, prod 0.05 → 0.1"]
    doc = json.loads(invoke("--base-spec", "base.yaml", "--format", "json").stdout)
    assert doc["changed"] is True and doc["version"] == 1
    assert sorted(doc["sections"]) == ["alerts", "backtest", "contract", "dashboards", "deploy", "files", "routing",
                                       "scrape", "slos"]
    [alert] = doc["sections"]["alerts"]
    assert alert["fields"] == [{"field": "threshold", "before": "0.05", "after": "0.1"},
                               {"field": "for", "before": "2m", "after": "5m"}]


def test_an_invalid_head_is_the_usual_located_error(specs: Path):
    """A latency threshold off the histogram's buckets is refused by resolve, so it never reaches a report."""
    head = edit(SPEC_TEXT, ("        threshold: 10\n        window", "        threshold: 7\n        window"))
    Path("stack.yaml").write_text(head, encoding="utf-8")
    result = invoke("--base-spec", "base.yaml")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "stack.yaml:199:9: services[0].alerts[1].threshold: threshold 7 must be one of the histogram's buckets "
        "below the largest, so the quantile is not interpolated across it (buckets: 0.005, 0.01, 0.025, 0.05, 0.1, "
        "0.25, 0.5, 1, 2.5, 5, 10, 30, 60)\n1 problem(s); nothing was compared\n")


def test_bad_options_are_usage_errors(specs: Path):
    result = invoke("--base-spec", "base.yaml", "--range", "a week")
    assert result.exit_code == 2
    assert result.stderr.startswith("--range: invalid duration 'a week'")
    result = invoke("--base-spec", "base.yaml", "--base", "HEAD~1")
    assert (result.exit_code, result.stderr) == (2, "--base and --base-spec name two bases: give one\n")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                   check=True, capture_output=True)


def test_base_head_in_a_git_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """git init, commit the spec, edit it, review against HEAD (the default), from another folder."""
    repo = tmp_path / "repo"
    (repo / "deploy").mkdir(parents=True)
    spec = repo / "deploy" / "stack.yaml"
    spec.write_text(SPEC_TEXT, encoding="utf-8")
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "spec")
    monkeypatch.chdir(tmp_path)
    assert invoke("--spec", "repo/deploy/stack.yaml").stdout == \
        "stackgen review: no change between HEAD:repo/deploy/stack.yaml and repo/deploy/stack.yaml\n"

    spec.write_text(THRESHOLD_HEAD, encoding="utf-8")
    result = invoke("--spec", "repo/deploy/stack.yaml", "--out", "repo/deploy/generated")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("stackgen review: HEAD:repo/deploy/stack.yaml → repo/deploy/stack.yaml: 1 change(s)")
    assert THRESHOLD_LINE in lines
    assert "    changed: repo/deploy/generated/prometheus/rules/fugatto-audio-lab-alerts.yml, " \
           "repo/deploy/generated/prometheus/tests/fugatto-audio-lab-alerts.test.yml" in lines

    # Committed, the edit is the base: no change. An invalid committed spec is named by its ref.
    _git(repo, "commit", "-q", "-am", "threshold")
    assert "no change" in invoke("--spec", "repo/deploy/stack.yaml").stdout
    spec.write_text(THRESHOLD_HEAD.replace("kind: error_ratio", "kind: error_rate", 1), encoding="utf-8")
    _git(repo, "commit", "-q", "-am", "broken")
    spec.write_text(THRESHOLD_HEAD, encoding="utf-8")
    result = invoke("--spec", "repo/deploy/stack.yaml")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "HEAD:repo/deploy/stack.yaml:182:9: services[0].alerts[0].kind: unknown kind 'error_rate': expected one of "
        "'error_ratio', 'latency_quantile', 'threshold', 'absent', 'rate_threshold', 'predict_linear', 'gauge_ratio', "
        "'target_down', 'watchdog', 'raw'",
        "1 problem(s); nothing was compared"]

    result = invoke("--spec", "repo/deploy/stack.yaml", "--base", "no-such-ref")
    assert (result.exit_code, result.stderr) == (
        2, "--base no-such-ref: cannot read repo/deploy/stack.yaml there: invalid object name 'no-such-ref'.\n")
    assert invoke("--spec", "repo/deploy/stack.yaml", "--base", "--help").exit_code == 2


def test_backtest_cases_are_the_changed_alerts_old_and_new(specs: Path):
    base, head = load_sides(Path("stack.yaml"), Path("generated"), base_file=Path("base.yaml"))
    [case] = backtest_hook.cases(base.stack, head.stack, several=False)
    assert (case.name, case.for_s, case.old_for_s, case.interval_s) == ("HighErrorRate", 300.0, 120.0, 15.0)
    assert case.old_expr.endswith("\n> 0.05") and case.new_expr.endswith("\n> 0.1")
    assert case.old_expr.removesuffix("0.05") == case.new_expr.removesuffix("0.1")


def test_backtest_section_reports_an_unreachable_prometheus_as_a_finding(specs: Path):
    """Port 1 refuses at once: a finding under the alert, exit 0, no traceback."""
    result = invoke("--base-spec", "base.yaml", "--prometheus", "http://127.0.0.1:1", "--range", "1h")
    assert result.exit_code == 0, result.output
    backtest = result.stdout.split("\nBacktest\n", 1)[1].splitlines()
    assert backtest[0] == "  HighErrorRate"
    assert backtest[1].startswith("    ") and "127.0.0.1:1" in backtest[1]
