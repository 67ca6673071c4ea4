"""Issue 23 (f), the part done: an SLO's own labels (Sloth's `labels`, e.g. owner and tier) on every
record and alert, predicted by the generated tests and carried into the routing tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from stackgen.output.write import write_tree
from stackgen.pipeline import render_stack
from tests.slo.conftest import slo, slo_test_files, with_slos

PROMTOOL = shutil.which("promtool")
OWN = {"owner": "audio-team", "tier": "2"}


def _labelled() -> dict:
    return {**slo("owned", 99.0), "labels": dict(OWN)}


def test_every_record_and_alert_carries_the_slo_labels(make_stack) -> None:
    rendered = {a.path: a.content for a in render_stack(make_stack(with_slos(_labelled(), alerts=False)))}
    (group,) = yaml.safe_load(rendered["prometheus/rules/fugatto-audio-lab-slos.yml"])["groups"]
    assert all(OWN.items() <= rule["labels"].items() for rule in group["rules"])
    routes = yaml.safe_load(rendered["alertmanager/tests/routes.yml"])["tests"]
    owned = [case for case in routes if "OwnedFastBurn" in str(case)]
    assert owned and all("owner" in str(case) for case in owned)


@pytest.mark.parametrize("label", ["severity", "sloth_id", "service", "team"])
def test_stackgens_labels_cannot_be_set(spec_errors, label: str) -> None:
    (error,) = spec_errors(with_slos({**slo("x"), "labels": {label: "x"}}))
    assert "slos[0].labels" in error and f"label {label!r} is set by stackgen" in error


@pytest.mark.slow
def test_labelled_slo_tests_pass(make_stack, tmp_path: Path) -> None:
    write_tree(tmp_path / "g", render_stack(make_stack(with_slos(_labelled(), alerts=False))))
    assert PROMTOOL, "promtool is required (apt-get install prometheus)"
    result = subprocess.run([PROMTOOL, "test", "rules", *slo_test_files(tmp_path / "g" / "prometheus" / "tests")],
                            cwd=tmp_path / "g" / "prometheus" / "tests", capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
