"""The package's import graph is a DAG of layers (docs/architecture.md): a module imports only from lower
layers, or from a sibling at its own layer where the table below allows it. Read from the source with
`ast`, so imports inside functions and under TYPE_CHECKING count too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "stackgen"

# Bottom first. Each name is a top-level module or package of stackgen.
LAYERS: list[set[str]] = [
    {"parsers", "diagnostics", "output", "spec"},
    {"model", "resolve", "diagnostics_formats"},
    {"targets", "checks", "lint", "runtime"},
    {"pipeline"},
    {"preview"},  # reads generated dashboards; review draws before/after with it
    {"review"},
    {"cli", "__main__"},
    {"fast_help"},  # the console script: answers --help itself, else runs cli
]
# Imports between siblings of one layer that are allowed (importer, imported); every other is not.
SIBLING_IMPORTS: set[tuple[str, str]] = {
    ("diagnostics", "parsers"),  # messages mask the credentials parsers.credentials recognises
    ("spec", "parsers"),  # the spec validates Go templates and RE2 regexes on construction
    ("spec", "output"),  # and refuses Logstash values output.quoting cannot quote
    ("spec", "diagnostics"),
    ("resolve", "model"),
    ("runtime", "targets"),  # the local stack writes the targets' configs with its own addresses
    ("runtime", "checks"),  # and finds the tool binaries the way the validators do
    ("__main__", "cli"),
}
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def _unit(module: str) -> str | None:
    """The top-level part of stackgen a dotted module name belongs to; None outside stackgen."""
    parts = module.split(".")
    if parts[0] != "stackgen":
        return None
    return parts[1] if len(parts) > 1 else "stackgen"


def _module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, package_root: Path = PACKAGE) -> list[tuple[str, int]]:
    """Every stackgen module `path` imports, anywhere in the file, with its line."""
    module = _module_name(path, package_root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # `from stackgen import pipeline` imports the module stackgen.pipeline
            out += [(f"{base}.{alias.name}" if base == "stackgen" else base, node.lineno) for alias in node.names]
    return [(name, line) for name, line in out if _unit(name) is not None]


def edges(package: Path = PACKAGE) -> list[tuple[str, str, str, int]]:
    """(importer unit, imported unit, file, line) for each import between two different units."""
    out = []
    for path in sorted(package.rglob("*.py")):
        importer = _unit(_module_name(path, package))
        for name, line in imports_of(path, package):
            imported = _unit(name)
            if imported != importer:
                out.append((importer, imported, path.relative_to(package.parent).as_posix(), line))
    return out


def violations(found: list[tuple[str, str, str, int]]) -> list[str]:
    bad = []
    for importer, imported, file, line in found:
        if importer not in LAYER_OF or imported not in LAYER_OF:
            bad.append(f"{file}:{line}: {importer} -> {imported}: not in any layer (add it to LAYERS and the docs)")
        elif LAYER_OF[imported] > LAYER_OF[importer]:
            bad.append(f"{file}:{line}: {importer} imports {imported}, a higher layer")
        elif LAYER_OF[imported] == LAYER_OF[importer] and (importer, imported) not in SIBLING_IMPORTS:
            bad.append(f"{file}:{line}: {importer} imports its sibling {imported}, which the layer rule does not allow")
    return bad


def test_every_import_goes_down_a_layer_or_to_an_allowed_sibling():
    found = edges()
    # The scan sees imports at module level, inside functions (all of cli's) and under TYPE_CHECKING.
    pairs = {(importer, imported) for importer, imported, _, _ in found}
    assert {("cli", "pipeline"), ("cli", "runtime"), ("pipeline", "lint"), ("targets", "model"),
            ("checks", "model"), ("spec", "parsers"), ("model", "spec")} <= pairs
    assert violations(found) == []


def test_every_module_is_in_a_layer():
    units = {_unit(_module_name(path)) for path in PACKAGE.rglob("*.py")} - {"stackgen"}
    assert units == set(LAYER_OF), "a new top-level module or package needs its place in LAYERS"


def test_sibling_rules_form_a_dag():
    graph = {name: {b for a, b in SIBLING_IMPORTS if a == name} for name in LAYER_OF}
    seen: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"cycle: {' -> '.join((*path, name))}"
        if name in seen:
            return
        for nxt in graph[name]:
            visit(nxt, (*path, name))
        seen.add(name)

    for name in graph:
        visit(name, ())
    for importer, imported in SIBLING_IMPORTS:
        assert LAYER_OF[importer] == LAYER_OF[imported], (importer, imported)


@pytest.mark.parametrize(("source", "expected"), [
    ("from stackgen.targets.prometheus.rules import rule_groups_of\n",
     "stackgen/checks/bad.py:1: checks imports its sibling targets, which the layer rule does not allow"),
    ("def f():\n    from stackgen import pipeline\n",
     "stackgen/checks/bad.py:2: checks imports pipeline, a higher layer"),
    ("from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import stackgen.cli\n",
     "stackgen/checks/bad.py:4: checks imports cli, a higher layer"),
    ("from ...pipeline import lint\n",
     "stackgen/checks/sub/bad.py:1: checks imports pipeline, a higher layer"),
])
def test_an_upward_or_sideways_import_is_reported(source: str, expected: str, tmp_path: Path):
    """The checker itself, on a package written for the purpose: each form of import is seen and refused."""
    fake = tmp_path / "stackgen"
    bad = fake / expected.split(":")[0].removeprefix("stackgen/")
    bad.parent.mkdir(parents=True)
    bad.write_text(source, encoding="utf-8")
    (fake / "checks" / "fine.py").write_text("from stackgen.model import names\n", encoding="utf-8")
    assert violations(edges(fake)) == [expected]
