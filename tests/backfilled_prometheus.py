"""A throwaway Prometheus that scrapes nothing and serves blocks backfilled by `promtool tsdb
create-blocks-from openmetrics`: a history the test wrote, queried through the real HTTP API."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stackgen.checks.tools import find
from stackgen.runtime.ports import free_port


@contextmanager
def backfilled_prometheus(root: Path, openmetrics: str) -> Iterator[str]:
    """Its URL, once ready; `openmetrics` ends with `# EOF`. Files and data go under `root`."""
    (root / "history.om").write_text(openmetrics)
    data = root / "data"
    subprocess.run([find("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(root / "history.om"), str(data)],
                   check=True, capture_output=True, timeout=60)
    (root / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    log = open(root / "prometheus.log", "wb")  # noqa: SIM115 - the child's
    process = subprocess.Popen([find("prometheus"), f"--config.file={root / 'prometheus.yml'}",
                                f"--storage.tsdb.path={data}", f"--web.listen-address=127.0.0.1:{port}",
                                "--storage.tsdb.retention.time=100y", "--log.level=warn"],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline and process.poll() is None, (root / "prometheus.log").read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()
