"""Hostile or unlucky spec files: each is one located line per problem and exit 2, never a traceback,
never unbounded time or memory, and nothing is written."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen.cli import app

BASE = (Path(__file__).resolve().parent.parent / "bad_specs" / "base.yaml.txt").read_text()
LOCATED = re.compile(r"[^\n]+:\d+:\d+: [^\n]+")


def render(spec: Path, tmp_path: Path) -> list[str]:
    """The stderr lines of a failed render, after checking the contract every failure keeps."""
    out = tmp_path / "generated"
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert not out.exists()
    lines = result.stderr.splitlines()
    *problems, summary = lines
    assert summary.endswith("; nothing was written")
    assert summary == f"{len(problems)} problem(s) in {summary.split(' in ', 1)[1]}"
    assert all(LOCATED.fullmatch(line) for line in problems), lines
    return problems


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("number", [".nan", ".NaN", ".inf", "-.Inf", "+.inf", "1.0e+400"])
def test_non_finite_threshold(number: str, tmp_path: Path):
    spec = write(tmp_path, BASE.replace("threshold: 0.05", f"threshold: {number}"))
    assert render(spec, tmp_path) == [f"{spec}:34:9: services[0].alerts[0].threshold: {number!r} is not a finite number"]


def test_non_finite_in_a_list_and_in_an_environment_override(tmp_path: Path):
    text = BASE.replace("buckets: [0.1, 0.5, 1, 5]", "buckets: [0.1, .nan, 1, 5]") + (
        "environments:\n"
        "  - name: dev\n"
        "    services:\n"
        "      api:\n"
        "        alert_thresholds: {ApiErrors: -.inf}\n")
    spec = write(tmp_path, text)
    assert render(spec, tmp_path) == [
        f"{spec}:23:24: services[0].metrics[1].buckets[1]: '.nan' is not a finite number",
        f"{spec}:66:28: environments[0].services.api.alert_thresholds.ApiErrors: '-.inf' is not a finite number",
    ]


def test_integer_beyond_64_bits(tmp_path: Path):
    spec = write(tmp_path, BASE.replace("threshold: 0.05", f"threshold: {10**400}"))
    [line] = render(spec, tmp_path)
    assert line.startswith(f"{spec}:34:9: services[0].alerts[0].threshold: '1000000")
    assert line.endswith("… is out of range: integers must fit in 64 bits")
    assert len(line) < 250


def test_merge_key_is_refused(tmp_path: Path):
    text = BASE.replace("    team: web\n    image", "    team: web\n    <<: {team: other}\n    image")
    spec = write(tmp_path, text)
    assert render(spec, tmp_path) == [
        f"{spec}:6:5: services[0][\"<<\"]: YAML merge keys ('<<') are not supported: write each key out where it applies"]


def test_deep_nesting_is_a_limit_not_a_recursion_error(tmp_path: Path):
    spec = write(tmp_path, BASE + "extra: " + "[" * 300 + "]" * 300 + "\n")
    assert render(spec, tmp_path) == [f"{spec}:62:71: extra{'[0]' * 63}: nested deeper than 64 levels, the limit for a spec"]


def test_deep_nesting_after_a_duplicate_key(tmp_path: Path):
    # the duplicate sends the load down the error path, whose positional parse recursed without a limit
    spec = write(tmp_path, BASE + "name: again\nextra: " + "[" * 300 + "]" * 300 + "\n")
    assert render(spec, tmp_path) == [
        f"{spec}:62:1: name: duplicate key",
        f"{spec}:63:71: extra{'[0]' * 63}: nested deeper than 64 levels, the limit for a spec",
    ]


def test_alias_nesting_counts_towards_the_depth(tmp_path: Path):
    spec = write(tmp_path, BASE + "a: &a " + "[" * 63 + "]" * 63 + "\nb: [*a]\n")
    assert render(spec, tmp_path) == [f"{spec}:63:5: b[0]: alias *a nests deeper than 64 levels, the limit for a spec"]


def test_recursive_alias(tmp_path: Path):
    spec = write(tmp_path, BASE + "x: &r [*r]\n")
    assert render(spec, tmp_path) == [f"{spec}:62:8: x[0]: alias *r refers to a node that contains it"]


def _bomb(levels: int = 10) -> str:
    text = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for prev, name in zip("abcdefghijklmnop", "bcdefghijklmnop"[:levels - 1], strict=False):
        text += f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    return text


def test_alias_bomb_is_bounded(tmp_path: Path):
    """Nine to the tenth nodes once expanded: the load must stop at the budget, in bounded memory."""
    spec = write(tmp_path, BASE + _bomb())
    limit = 1 << 30
    code = ("import resource, sys\n"
            f"resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))\n"
            "from stackgen.cli import main\n"
            "sys.argv = ['stackgen', 'render', '--spec', sys.argv[1], '--out', sys.argv[2]]\n"
            "main()\n")
    result = subprocess.run([sys.executable, "-c", code, str(spec), str(tmp_path / "generated")],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONHASHSEED": "0"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"{spec}:67:8: f[0]: alias *e expands the spec past 100000 nodes, the limit for aliases",
        f"1 problem(s) in {spec}; nothing was written",
    ]
    assert not (tmp_path / "generated").exists()


def test_aliases_within_the_budget_read_as_written_out(tmp_path: Path):
    aliased = BASE.replace("    team: web\n", "    team: &team web\n").replace(
        "        threshold: 0.05\n", "        threshold: 0.05\n        labels: &labels {team: *team}\n").replace(
        "        threshold: 1\n", "        threshold: 1\n        labels: *labels\n")
    written_out = aliased.replace("&team ", "").replace("&labels {team: *team}", "{team: web}").replace("*labels", "{team: web}")
    assert aliased.count("*") == 2 and "*" not in written_out
    trees = []
    for name, text in (("aliased", aliased), ("written_out", written_out)):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["render", "--spec", str(write(tmp_path, text, "spec.yaml")), "--out", str(out)])
        assert result.exit_code == 0, result.output
        trees.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert trees[0] == trees[1]
    assert b"team: web" in trees[0][Path("prometheus/rules/api-alerts.yml")]


def test_special_files(tmp_path: Path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    folder = tmp_path / "folder.yaml"
    folder.mkdir()
    assert render(Path("/dev/zero"), tmp_path) == ["/dev/zero:1:1: not a regular file: a spec is read from a regular file only"]
    assert render(fifo, tmp_path) == [f"{fifo}:1:1: not a regular file: a spec is read from a regular file only"]
    assert render(folder, tmp_path) == [f"{folder}:1:1: is a directory, not a spec file"]


def test_huge_file(tmp_path: Path):
    spec = tmp_path / "huge.yaml"
    with spec.open("wb") as f:
        f.truncate(16 * 2**20 + 1)  # sparse: costs no disk
    assert render(spec, tmp_path) == [f"{spec}:1:1: the file is larger than 16 MiB, the limit for a spec"]


def test_not_utf8_is_located(tmp_path: Path):
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(BASE.replace("name: mini", "name: mi\xffni").encode("latin-1"))
    assert render(spec, tmp_path) == [f"{spec}:2:9: not UTF-8: byte 0xff: invalid start byte"]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b"])
def test_control_character_is_one_line(char: str, tmp_path: Path):
    spec = write(tmp_path, BASE.replace("name: mini", f"name: mi{char}ni"))
    assert render(spec, tmp_path) == [
        f"{spec}:2:9: YAML syntax error: character #x{ord(char):04x}: control characters are not allowed"]


def test_key_with_newlines_cannot_forge_lines(tmp_path: Path):
    spec = write(tmp_path, BASE.replace("name: mini\n", 'name: mini\n"x\\nstack.yaml:1:1: forged\\u2028": 1\n'))
    [line] = render(spec, tmp_path)
    assert line.startswith(f'{spec}:3:1: ["x\\nstack.yaml:1:1: forged\\u2028"]: '
                           "unknown field 'x\\nstack.yaml:1:1: forged\\u2028'; allowed: alertmanager, ")


def test_odd_keys_are_quoted_in_paths(tmp_path: Path):
    spec = write(tmp_path, BASE.replace("name: mini\n", 'name: mini\n"a.b c": 1\n'))
    [line] = render(spec, tmp_path)
    assert line.startswith(f"{spec}:3:1: [\"a.b c\"]: unknown field 'a.b c'")


def test_file_name_with_a_newline(tmp_path: Path):
    spec = write(tmp_path, BASE.replace("threshold: 0.05", "threshold: .nan"), name="evil\nx.yaml")
    shown = str(spec).replace("\n", "\\n")
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(tmp_path / "generated")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{shown}:34:9: services[0].alerts[0].threshold: '.nan' is not a finite number",
        f"1 problem(s) in {shown}; nothing was written",
    ]


@pytest.mark.parametrize(("value", "reason"), [
    ("2024-02-30", "cannot read '2024-02-30' as timestamp: day is out of range for month"),
    ("!!bool maybe", "cannot read 'maybe' as bool"),
    ("!!timestamp soon", "cannot read 'soon' as timestamp"),
    ("!!int twelve", "cannot read 'twelve' as int: invalid literal for int() with base 10: 'twelve'"),
])
def test_unreadable_typed_scalar(value: str, reason: str, tmp_path: Path):
    spec = write(tmp_path, BASE.replace("threshold: 0.05", f"threshold: {value}"))
    assert render(spec, tmp_path) == [f"{spec}:34:9: services[0].alerts[0].threshold: {reason}"]


def test_several_structure_problems_are_all_reported(tmp_path: Path):
    text = BASE.replace("threshold: 0.05", "threshold: .nan").replace("quantile: 0.9", "quantile: -.inf")
    spec = write(tmp_path, text + "name: again\n")
    assert render(spec, tmp_path) == [
        f"{spec}:34:9: services[0].alerts[0].threshold: '.nan' is not a finite number",
        f"{spec}:43:9: services[0].alerts[1].quantile: '-.inf' is not a finite number",
        f"{spec}:62:1: name: duplicate key",
    ]
