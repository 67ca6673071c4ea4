"""The console script's entry point: `stackgen --help` answered without importing typer.

The top-level help is the most-run command after render (editors and shells call it too), and typer with
its vendored click costs about five times `python -c pass` to import (bench/results/check.md). HELP is
typer's own output for a terminal of 80 columns or more (click wraps at 78 then). tests/core/test_fast_help.py
keeps it equal; `python -m tests.docs_tables` rewrites it. A narrower terminal, any other argument, or
`python -m stackgen` goes through typer as before.
"""

from __future__ import annotations

import os
import shutil
import sys

HELP = """\
Usage: stackgen [OPTIONS] COMMAND [ARGS]...

  Generate and prove a monitoring stack from one typed spec.

Options:
  --help  Show this message and exit.

Commands:
  render   Render every generated file from the spec into --out...
  check    Fail unless --out matches a fresh render and every validator...
  diff     Show, as a unified diff, what `render` would change in --out.
  lint     Semantic checks of the spec and a fresh render (docs/lint.md);...
  review   What the change of the spec since --base means: alerts,...
  preview  Draw each generated dashboard (--out/grafana/dashboards; a...
  schema   Print the spec's JSON Schema (also written to...
  init     Write a small, valid, commented starting spec for one service;...
  up       Start the stack locally: compose when a Docker engine is...
  down     Stop the stack: every component of the native stack, found by...
  restart  Restart one component of the native stack (or all) with its...
  status   Health of each component of the native stack; exit 1 unless...
  drill    Inject each alert's fault into the running stack; check it...
  explain  Explain what the spec generates, in plain numbers.
  import   Turn other tools' SLO specs into stack.yaml fragments.
"""


def answers(argv: list[str]) -> bool:
    """Whether HELP is exactly what typer would print for this command line and terminal."""
    return (argv[1:] == ["--help"] and os.path.basename(argv[0]) == "stackgen"
            and shutil.get_terminal_size().columns >= 80)


def main() -> None:
    if answers(sys.argv):
        sys.stdout.write(HELP)
        return
    from stackgen.cli import main as cli_main

    cli_main()
