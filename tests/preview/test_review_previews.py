"""`stackgen review --previews DIR`: before and after PNGs of each changed dashboard only, shown side by side in
the Markdown report."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from stackgen.cli import app
from tests.review.conftest import SPEC_TEXT, edit

pytestmark = pytest.mark.slow


def test_changed_dashboards_get_before_and_after_pngs_in_the_markdown(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("base.yaml").write_text(SPEC_TEXT)
    Path("stack.yaml").write_text(edit(SPEC_TEXT, ("        - title: Response Time\n",
                                                   "        - title: Queue Depth\n          kind: gauge\n"
                                                   "          metric: fugatto_queue_depth\n"
                                                   "        - title: Response Time\n")))
    result = CliRunner().invoke(app, ["review", "--base-spec", "base.yaml", "--format", "markdown", "--previews", "pr"])
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in Path("pr").iterdir())
    # only the operations dashboard changed (the overview and SLO dashboards did not)
    assert pngs == ["fugatto-audio-lab.after.png", "fugatto-audio-lab.before.png"]
    before, after = (Image.open(Path("pr") / name) for name in ("fugatto-audio-lab.before.png", "fugatto-audio-lab.after.png"))
    assert after.size[1] > before.size[1]  # one more panel pushed the others down a row
    assert "### Dashboard previews" in result.stdout
    assert ('| Fugatto Audio Lab - Operations Dashboard | <img src="pr/fugatto-audio-lab.before.png" width="480" '
            'alt="fugatto-audio-lab.before.png"> | <img src="pr/fugatto-audio-lab.after.png"') in result.stdout


def test_a_png_review_did_not_write_is_refused_before_the_report(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("base.yaml").write_text(SPEC_TEXT)
    Path("stack.yaml").write_text(edit(SPEC_TEXT, ("        - title: Response Time\n", "        - title: Latency\n")))
    Path("pr").mkdir()
    Path("pr/fugatto-audio-lab.after.png").write_bytes(b"a screenshot of mine")
    result = CliRunner().invoke(app, ["review", "--base-spec", "base.yaml", "--format", "markdown", "--previews", "pr"])
    assert result.exit_code == 2, result.output
    assert "fugatto-audio-lab.after.png: exists and was not written by stackgen preview" in result.output
    assert Path("pr/fugatto-audio-lab.after.png").read_bytes() == b"a screenshot of mine"
    assert sorted(p.name for p in Path("pr").iterdir()) == ["fugatto-audio-lab.after.png"]


def test_no_dashboard_change_draws_nothing(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("base.yaml").write_text(SPEC_TEXT)
    Path("stack.yaml").write_text(edit(SPEC_TEXT, ("    replicas: 3\n", "    replicas: 4\n")))
    result = CliRunner().invoke(app, ["review", "--base-spec", "base.yaml", "--format", "markdown", "--previews", "pr"])
    assert result.exit_code == 0, result.output
    assert "Dashboard previews" not in result.stdout and not list(Path("pr").glob("*.png"))
