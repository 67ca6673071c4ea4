"""Every malformed spec in tests/bad_specs exits 2 with exactly its expected messages and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from stackgen.cli import app

CORPUS = Path(__file__).resolve().parent.parent / "bad_specs"
CASES = sorted(p.stem for p in CORPUS.glob("*.yaml"))


def test_corpus_is_broad():
    assert len(CASES) >= 15


@pytest.mark.parametrize("name", CASES)
def test_bad_spec(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(CORPUS)
    out = tmp_path / "generated"
    out.mkdir()
    (out / "keep.txt").write_text("previous output")
    result = CliRunner().invoke(app, ["render", "--spec", f"{name}.yaml", "--out", str(out)])
    expected = (CORPUS / f"{name}.expected").read_text()
    assert result.exit_code == 2, result.output
    assert result.stderr == expected
    assert "Traceback" not in result.output
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert (out / "keep.txt").read_text() == "previous output"


def test_base_of_the_corpus_is_valid(tmp_path: Path):
    spec = tmp_path / "base.yaml"
    spec.write_text((CORPUS / "base.yaml.txt").read_text())
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
