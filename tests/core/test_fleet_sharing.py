"""check runs one promtool per shape: test files that, with their rule files, differ only by the service's
name and instance (checks.fleet). Everything else keeps a run of its own."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from stackgen.checks import fleet, promtool, yaml_lint
from stackgen.checks.fleet import group_by_shape
from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from stackgen.resolve import Stack, load_stack

BASE = Path(__file__).resolve().parents[1] / "bad_specs" / "base.yaml.txt"
FLEET = ("api-a", "api-b", "api-c")


def _fleet(tmp_path: Path, edit=lambda i, service: None) -> tuple[Path, Stack]:
    """The base spec's service stamped three times (names and ports differ), rendered under tmp_path/out."""
    spec = yaml.safe_load(BASE.read_text())
    template = spec["services"][0]
    spec["services"] = []
    for i, name in enumerate(FLEET):
        service = copy.deepcopy(template) | {"name": name, "ports": {"http": 8080 + 2 * i, "metrics": 9100 + 2 * i}}
        edit(i, service)
        spec["services"].append(service)
    (tmp_path / "stack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    stack = load_stack(tmp_path / "stack.yaml")
    write_tree(tmp_path / "out", render_stack(stack))
    return tmp_path / "out", stack


def _groups(root: Path, stack: Stack) -> list[list[str]]:
    tests = sorted(p.relative_to(root).as_posix() for p in (root / "prometheus" / "tests").glob("*.yml"))
    return group_by_shape(root, tests, list(stack.spec.services))


def _tests(*services: str) -> list[str]:
    return [f"prometheus/tests/{name}-alerts.test.yml" for name in services]


def test_a_fleet_from_one_template_is_one_shape(tmp_path: Path):
    root, stack = _fleet(tmp_path)
    assert _groups(root, stack) == [_tests(*FLEET)]


def test_a_service_that_differs_in_anything_but_name_and_port_runs_alone(tmp_path: Path):
    def raise_threshold(i: int, service: dict) -> None:
        if i == 2:
            service["alerts"][0]["threshold"] = 0.06

    root, stack = _fleet(tmp_path, raise_threshold)
    assert _groups(root, stack) == [_tests("api-a", "api-b"), _tests("api-c")]


@pytest.mark.parametrize("edit", [
    ('code=~"5.."', 'code=~"5..", job=~"api-[ab]"'),  # a regex on a renamed label: it tells the names apart
    ("sum by (", "sort_by_label(sum by ("),  # reads labels as text (the parentheses need not balance here)
    ('code=~"5.."', '"code"=~"5.."'),  # a quoted (UTF-8) label name: not read, so not assumed harmless
])
def test_renaming_that_could_change_the_result_keeps_runs_apart(tmp_path: Path, edit: tuple[str, str]):
    root, stack = _fleet(tmp_path)
    for name in FLEET:
        rules = root / f"prometheus/rules/{name}-alerts.yml"
        text = rules.read_text()
        assert edit[0] in text
        rules.write_text(text.replace(edit[0], edit[1]))
    assert _groups(root, stack) == [[test] for test in _tests(*FLEET)]


@pytest.mark.slow  # promtool
def test_a_failing_shape_fails_every_member_and_a_diverging_member_is_still_run(tmp_path: Path):
    root, stack = _fleet(tmp_path)
    assert promtool.validate(root, stack) == []
    diverging = root / "prometheus/rules/api-c-alerts.yml"  # a hand edit: api-c is a shape of its own now
    diverging.write_text(diverging.read_text().replace("> 0.05", "> 0.5"))
    assert [f.file for f in promtool.validate(root, stack) if f.rule == "promtool test rules"] == _tests("api-c")
    for name in FLEET:  # the same wrong threshold everywhere: one run, and each member is told
        rules = root / f"prometheus/rules/{name}-alerts.yml"
        rules.write_text(rules.read_text().replace("> 0.05", "> 0.5"))
    findings = [f for f in promtool.validate(root, stack) if f.rule == "promtool test rules"]
    assert [f.file for f in findings] == _tests(*FLEET)
    assert "FAILED" in findings[0].message and findings[1].message.startswith(f"as {_tests('api-a')[0]}")


def test_rule_files_are_read_from_stackgens_layout_and_from_any_other():
    from stackgen.checks.fleet import _rule_files

    generated = "evaluation_interval: 1m\nrule_files:\n- ../rules/a.yml\n- b.yml\ntests: []\n"
    assert _rule_files(generated) == ["../rules/a.yml", "b.yml"]
    assert _rule_files("rule_files: ['../rules/a.yml', \"b c.yml\"]\ntests: []\n") == ["../rules/a.yml", "b c.yml"]
    assert _rule_files("tests: []\n") is None


def _texts(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): p.read_text() for p in sorted([*root.rglob("*.yml"), *root.rglob("*.yaml")])}


def test_yamllint_lints_one_file_of_each_shape(tmp_path: Path):
    root, stack = _fleet(tmp_path)
    groups = fleet.group_by_text(_texts(root), list(stack.spec.services))
    assert [f"k8s/base/{name}-deployment.yaml" for name in FLEET] in groups
    assert ["alertmanager/alertmanager.yml"] in groups  # no service's file: alone


def test_a_yamllint_problem_is_reported_on_each_file_of_the_shape_and_only_there(tmp_path: Path):
    root, stack = _fleet(tmp_path)
    for name in FLEET[:2]:  # the same stray space in two files: still one shape, both reported
        path = root / f"k8s/base/{name}-deployment.yaml"
        path.write_text(path.read_text().replace("\n", " \n", 1))
    findings = yaml_lint.validate(root, stack)
    assert [(f.file, f.message) for f in findings] == [
        (f"k8s/base/{name}-deployment.yaml", "1:{}: trailing spaces (trailing-spaces)".format(
            len((root / f"k8s/base/{name}-deployment.yaml").read_text().splitlines()[0]))) for name in FLEET[:2]]


def test_a_service_named_like_a_yaml_boolean_is_linted_alone():
    services = [type("S", (), {"name": name})() for name in ("on", "api")]
    owners = fleet._owners(["k8s/base/on-deployment.yaml", "k8s/base/api-deployment.yaml"], services)
    assert list(owners) == ["k8s/base/api-deployment.yaml"]
