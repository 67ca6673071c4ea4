"""Running external validators. A missing binary is a finding with the install hint, never a skip."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stackgen.checks import Finding

DEBIAN_PACKAGE = {
    "promtool": "prometheus",
    "prometheus": "prometheus",
    "amtool": "prometheus-alertmanager",
    "alertmanager": "prometheus-alertmanager",
}


class ToolMissing(Exception):
    def __init__(self, tool: str):
        package = DEBIAN_PACKAGE.get(tool, tool)
        super().__init__(f"{tool} is not installed: apt-get install -y --no-install-recommends {package}")
        self.tool = tool


def find(*candidates: str) -> str:
    for name in candidates:
        if path := shutil.which(name):
            return path
    raise ToolMissing(candidates[0])


def run(args: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def missing_finding(exc: ToolMissing, file: str) -> Finding:
    return Finding(file, exc.tool, str(exc))


def output_of(result: subprocess.CompletedProcess[str]) -> str:
    return "\n".join(line for line in (result.stdout + result.stderr).strip().splitlines() if line.strip())
