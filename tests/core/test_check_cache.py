"""check's validators run concurrently and a passed validator is skipped while its inputs and tools are
unchanged (stackgen/checks/cache.py). Real amtool, counted: the cache must skip the tool, never the finding."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen import pipeline
from stackgen.checks import amtool, tools
from stackgen.checks.cache import CACHE_DIR, CACHE_ENV, cache_file
from stackgen.output.write import MANIFEST

pytestmark = pytest.mark.slow  # amtool runs in every test (about 1 s each on this box)

# Fast validators only: one real tool (amtool) and two in-process ones.
FAST = pipeline.Registry("stackgen.checks", ("amtool", "grafana", "logstash"), pipeline.Validator)


@pytest.fixture
def amtool_runs(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every amtool command the amtool validator runs (and it still runs them)."""
    calls: list[list[str]] = []

    def counted(args: list[str], cwd: Path, timeout: float = 120):
        calls.append(args)
        return tools.run(args, cwd, timeout)

    monkeypatch.setattr(amtool, "run", counted)
    monkeypatch.setattr(pipeline, "VALIDATORS", FAST)
    return calls


def test_a_passed_validator_is_skipped_until_a_file_changes(rendered: Path, stack, tmp_path: Path, amtool_runs):
    cache = tmp_path / "cache.json"
    assert pipeline.validate(rendered, stack, cache) == []
    first = len(amtool_runs)
    assert first > 0
    assert pipeline.validate(rendered, stack, cache) == []
    assert len(amtool_runs) == first  # skipped
    config = rendered / "alertmanager" / "alertmanager.yml"
    config.write_text(config.read_text(encoding="utf-8") + "# an edit\n", encoding="utf-8")
    assert pipeline.validate(rendered, stack, cache) == []
    assert len(amtool_runs) == 2 * first  # the edit ran it again
    assert pipeline.validate(rendered, stack) == []  # no cache given: always runs
    assert len(amtool_runs) == 3 * first


def test_a_failing_validator_is_never_cached(rendered: Path, stack, tmp_path: Path, amtool_runs):
    cache = tmp_path / "cache.json"
    config = rendered / "alertmanager" / "alertmanager.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("route:", "rout:", 1), encoding="utf-8")
    first = pipeline.validate(rendered, stack, cache)
    assert any(f.rule.startswith("amtool") for f in first)
    runs = len(amtool_runs)
    assert pipeline.validate(rendered, stack, cache) == first
    assert len(amtool_runs) == 2 * runs


def test_another_tool_binary_runs_it_again(rendered: Path, stack, tmp_path: Path, amtool_runs,
                                           monkeypatch: pytest.MonkeyPatch):
    cache = tmp_path / "cache.json"
    pipeline.validate(rendered, stack, cache)
    runs = len(amtool_runs)
    other = tmp_path / "bin"
    other.mkdir()
    shutil.copy2(tools.find("amtool"), other / "amtool")  # same version, another file: an upgrade looks like this
    monkeypatch.setenv("PATH", f"{other}:{tools.os.environ['PATH']}")
    assert pipeline.validate(rendered, stack, cache) == []
    assert len(amtool_runs) == 2 * runs
    assert amtool_runs[-1][0] == str(other / "amtool")


def test_findings_come_in_registry_order_whatever_finishes_first(rendered: Path, stack, amtool_runs):
    (rendered / "alertmanager" / "alertmanager.yml").write_text("route: [\n", encoding="utf-8")
    for dashboard in (rendered / "grafana").rglob("*.json"):
        dashboard.write_text("{", encoding="utf-8")
    serial = [f for v in FAST.modules() for f in v.validate(rendered, stack)]
    assert {f.rule.split()[0] for f in serial} >= {"amtool"} and len({f.file for f in serial}) > 1
    assert pipeline.validate(rendered, stack) == serial


def test_the_cache_lives_beside_out_and_render_still_owns_out(tmp_path: Path, root: Path, amtool_runs,
                                                              monkeypatch: pytest.MonkeyPatch):
    from stackgen.cli import app

    monkeypatch.delenv(CACHE_ENV)  # the suite shares one cache (tests/conftest.py); a user's check does not

    out = tmp_path / "generated"
    runner = CliRunner()
    spec = str(root / "stack.yaml")
    assert runner.invoke(app, ["render", "--spec", spec, "--out", str(out)]).exit_code == 0
    for _ in range(2):
        result = runner.invoke(app, ["check", "--spec", spec, "--out", str(out)])
        assert result.exit_code == 0, result.output
    assert cache_file(out) == tmp_path / CACHE_DIR / "check-generated.json" and cache_file(out).is_file()
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == [MANIFEST]
    runs = len(amtool_runs)
    assert runner.invoke(app, ["check", "--spec", spec, "--out", str(out), "--no-cache"]).exit_code == 0
    assert len(amtool_runs) == 2 * runs > 0  # the first check ran it, the second skipped it, --no-cache ran it
    assert runner.invoke(app, ["render", "--spec", spec, "--out", str(out)]).exit_code == 0


def test_a_corrupt_cache_file_is_read_as_empty(rendered: Path, stack, tmp_path: Path, amtool_runs):
    cache = tmp_path / "cache.json"
    cache.write_text("{not json", encoding="utf-8")
    assert pipeline.validate(rendered, stack, cache) == []
    assert amtool_runs


def test_a_shared_cache_serves_every_copy_of_the_same_tree(rendered: Path, stack, tmp_path: Path, amtool_runs,
                                                          monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "shared"))
    copy = tmp_path / "elsewhere" / "out"
    shutil.copytree(rendered, copy)
    assert cache_file(rendered) == cache_file(copy) == tmp_path / "shared" / "check.json"
    assert pipeline.validate(rendered, stack, cache_file(rendered)) == []
    runs = len(amtool_runs)
    assert pipeline.validate(copy, stack, cache_file(copy)) == []
    assert len(amtool_runs) == runs  # same files, another folder: skipped
    config = copy / "alertmanager" / "alertmanager.yml"
    config.write_text(config.read_text(encoding="utf-8") + "# an edit\n", encoding="utf-8")
    assert pipeline.validate(copy, stack, cache_file(copy)) == []
    assert pipeline.validate(rendered, stack, cache_file(rendered)) == []
    assert len(amtool_runs) == 2 * runs  # both trees' entries are kept
