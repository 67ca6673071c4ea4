"""`stackgen --help` is answered by stackgen/fast_help.py without typer, and says exactly what typer says."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from stackgen.fast_help import HELP, answers

ROOT = Path(__file__).resolve().parents[2]


def typer_help(columns: int) -> str:
    code = "from stackgen.cli import app\ntry:\n    app(['--help'], prog_name='stackgen')\nexcept SystemExit:\n    pass\n"
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_the_fast_help_is_typers_help():
    assert HELP == typer_help(120), "the commands changed: run `python -m tests.docs_tables` to rewrite HELP"
    assert typer_help(100) == typer_help(80) == HELP  # click wraps at 78 from 80 columns up


def test_the_console_script_enters_through_it_and_skips_typer():
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["stackgen"] == "stackgen.fast_help:main"
    code = ("import sys; sys.argv = ['/usr/bin/stackgen', '--help']\nfrom stackgen.fast_help import main\nmain()\n"
            "print('IMPORTED', sorted(m for m in sys.modules if m.startswith(('typer', 'click', 'stackgen.cli'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "COLUMNS": "100"}, check=True)
    assert result.stdout == HELP + "IMPORTED []\n"


def test_anything_else_goes_through_typer(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert answers(["stackgen", "--help"])
    assert not answers(["stackgen", "render", "--help"]) and not answers(["stackgen"])
    assert not answers(["python -m stackgen", "--help"])  # click names the program differently there
    monkeypatch.setenv("COLUMNS", "60")  # click wraps narrower: typer writes it
    assert not answers(["stackgen", "--help"])
