"""A long-lived child that runs stackgen commands for the fuzzer under hard memory and CPU limits.

The fuzzer's contract includes "bounded time and memory per case"; an in-process run could neither
measure a runaway allocation (the test process would die with it) nor stop an endless loop. Importing
stackgen once per worker instead of once per case keeps a case at render cost, not start-up cost.

Protocol: one JSON request per stdin line, `{"args": [...]}`; one JSON reply per stdout line,
`{"exit_code", "stdout", "stderr", "exception", "seconds", "peak_rss_mib"}`.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import traceback


def _limit_memory() -> None:
    limit = int(os.environ.get("STACKGEN_FUZZ_MEMORY_MIB", "1536")) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def main() -> None:
    from typer.testing import CliRunner

    from stackgen.cli import app

    _limit_memory()
    runner = CliRunner()
    replies = sys.stdout
    for line in sys.stdin:
        request = json.loads(line)
        started = time.perf_counter()
        try:
            result = runner.invoke(app, request["args"], catch_exceptions=True)
            exception = result.exception
            reply = {
                "exit_code": result.exit_code,
                "stdout": result.stdout,
                "stderr": result.stderr,
                # SystemExit is how typer reports an exit code; anything else escaped the CLI.
                "exception": None if exception is None or isinstance(exception, SystemExit)
                else "".join(traceback.format_exception(exception)),
            }
        except MemoryError:
            reply = {"exit_code": None, "stdout": "", "stderr": "", "exception": "MemoryError"}
        reply["seconds"] = time.perf_counter() - started
        reply["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


if __name__ == "__main__":
    main()
