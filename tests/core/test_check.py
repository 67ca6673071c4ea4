"""check: passes on the committed tree, fails naming the file after a hand edit, never skips a tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _stackgen(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=cwd, capture_output=True, text=True,
                          env=env or os.environ.copy())


def _copy_project(root: Path, tmp_path: Path) -> Path:
    work = tmp_path / "project"
    work.mkdir()
    shutil.copy(root / "stack.yaml", work / "stack.yaml")
    shutil.copytree(root / "generated", work / "generated")
    return work


@pytest.mark.slow
def test_check_passes_on_committed_tree(root: Path):
    result = _stackgen("check", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "in sync" in result.stdout


@pytest.mark.slow
def test_hand_edit_fails_check_naming_the_file(root: Path, tmp_path: Path):
    work = _copy_project(root, tmp_path)
    rules = work / "generated/prometheus/rules/fugatto-audio-lab-alerts.yml"
    rules.write_text(rules.read_text().replace("> 0.05", "> 0.5", 1))
    result = _stackgen("check", cwd=work)
    assert result.returncode == 1
    assert "generated/prometheus/rules/fugatto-audio-lab-alerts.yml: differs from a fresh render" in result.stderr
    diff = _stackgen("diff", cwd=work)
    assert diff.returncode == 1
    assert "\n-      > 0.5\n+      > 0.05\n" in diff.stdout


@pytest.mark.slow
def test_missing_validator_is_an_error_with_install_hint(root: Path, tmp_path: Path):
    work = _copy_project(root, tmp_path)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # python only: no promtool, no amtool
    result = _stackgen("check", cwd=work, env=env)
    assert result.returncode == 1
    assert "promtool is not installed: apt-get install -y --no-install-recommends prometheus" in result.stderr
    assert "amtool is not installed: apt-get install -y --no-install-recommends prometheus-alertmanager" in result.stderr


def test_schema_command_prints_the_spec_schema(root: Path):
    import json

    result = _stackgen("schema", cwd=root)
    schema = json.loads(result.stdout)
    assert schema["title"] == "stackgen/v1 stack spec"
    assert "apiVersion" in schema["properties"]
    assert result.stdout == (root / "generated/stackgen.schema.json").read_text()


def test_help_does_not_import_targets_or_pydantic(root: Path):
    code = ("import sys; from stackgen.cli import app\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in sys.modules if m.startswith(('stackgen.targets', 'pydantic', 'stackgen.spec', 'yaml', 'rich'))]\n"
            "print('IMPORTED', bad)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root)
    assert "IMPORTED []" in result.stdout, result.stdout


def test_a_validator_tool_that_hangs_is_a_failure_not_a_crash(tmp_path):
    from stackgen.checks.tools import output_of, run

    result = run(["sleep", "30"], cwd=tmp_path, timeout=0.2)
    assert result.returncode == 124 and output_of(result) == "sleep did not finish within 0.2 s"


def test_every_kind_of_tool_the_cache_records_resolves_to_the_same_identity():
    """A recorded tool whose identity cannot be looked up again makes its validator run on every check."""
    from stackgen.checks import tools

    with tools.recording() as used:
        tools.find("promtool")
        tools.find_python_cli("kubernetes-validate", "kubernetes-validate")
        tools.find_python_library("kubernetes_validate.utils", "kubernetes-validate")
        tools.find_python_data("check_jsonschema", "builtin_schemas/vendor/compose-spec.json", "check-jsonschema")
    assert {key.split(":")[0] for key in used} == {"find", "python-cli", "python-lib", "python-data"}
    assert {key: tools.identity_of(key) for key in used} == used


def test_a_data_file_is_found_without_importing_its_package_and_its_absence_is_a_finding():
    import sys

    from stackgen.checks import tools

    sys.modules.pop("check_jsonschema", None)
    path = tools.find_python_data("check_jsonschema", "builtin_schemas/vendor/compose-spec.json", "check-jsonschema")
    assert path.is_file() and "check_jsonschema" not in sys.modules
    with pytest.raises(tools.ToolMissing, match="pip install check-jsonschema"):
        tools.find_python_data("check_jsonschema", "builtin_schemas/vendor/no-such.json", "check-jsonschema")
    with pytest.raises(tools.ToolMissing, match="pip install nothing-here"):
        tools.find_python_data("no_such_package_here", "x.json", "nothing-here")


def test_the_in_process_validators_record_their_libraries_for_the_check_cache(root: Path, tmp_path: Path):
    """A cached check reruns a validator when a tool it used changed; libraries used in process count."""
    from stackgen.checks import grafana, logstash, tools, yaml_lint
    from stackgen.resolve import load_stack

    (tmp_path / "a.yml").write_text("---\na: 1\n", encoding="utf-8")
    stack = load_stack(root / "stack.yaml")
    with tools.recording() as used:
        assert yaml_lint.validate(tmp_path, stack) == []
    assert set(used) == {"python-lib:yamllint.linter,yamllint", "python-lib:yamllint.config,yamllint"}
    for validator, key in ((grafana, "python-lib:promql_parser,promql-parser"), (logstash, "python-lib:lark,lark")):
        with tools.recording() as used:
            validator.validate(root / "generated", stack)
        assert key in used, validator.__name__
