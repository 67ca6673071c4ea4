"""The PNG of each bundled dashboard: one panel drawn per dashboard panel, at its gridPos, in an image of the
size the grid needs; the same bytes every time; a placeholder, not a crash, for what the preview cannot draw."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from stackgen.preview import DashboardError, load_dashboards, render_all, render_dashboard
from stackgen.preview.draw import BACKGROUND, PANEL

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = "fugatto-audio-lab"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    return tuple(int(hex_color[i: i + 2], 16) for i in (1, 3, 5))


def _dashboard(uid: str = OPERATIONS) -> dict:
    return load_dashboards(ROOT / "generated", [uid])[0]


@pytest.fixture(scope="module")
def operations(tmp_path_factory):
    to = tmp_path_factory.mktemp("preview")
    return _dashboard(), render_dashboard(_dashboard(), to / "ops.png")


def test_every_panel_is_drawn_at_its_grid_position(operations):
    dashboard, preview = operations
    panels = dashboard["panels"]
    assert sorted(preview.panels) == sorted(p["id"] for p in panels)
    # Grafana's grid, independently: 24 columns of 50 px, rows of 38 px (30 + 8 margin) under a 44 px header
    for panel in panels:
        pos = panel["gridPos"]
        box = preview.panels[panel["id"]].box
        assert (box.left, box.top, box.width, box.height) == (
            pos["x"] * 50 + 4, 44 + pos["y"] * 38 + 4, pos["w"] * 50 - 8, pos["h"] * 38 - 8), panel["title"]
    bottom = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    image = Image.open(preview.png).convert("RGB")
    assert image.size == preview.size == (1200, 44 + bottom * 38)
    for report in preview.panels.values():  # the panel's face inside its box, the page's background just outside
        box = report.box
        assert image.getpixel((box.left + 3, box.top + 3)) == _rgb(PANEL), report.title
        assert image.getpixel((box.right - 3, box.bottom - 3)) == _rgb(PANEL), report.title
        assert image.getpixel((box.left - 3, box.top + 3)) == _rgb(BACKGROUND), report.title
        assert image.getpixel((box.left + 3, box.bottom + 3)) == _rgb(BACKGROUND), report.title
    kinds = {r.title: r.drawn for r in preview.panels.values()}
    assert kinds["Request Rate"] == "queries" and kinds["Error log lines"] == "logs"


def test_same_dashboards_give_the_same_bytes(tmp_path):
    dashboards = load_dashboards(ROOT / "generated")
    first, second = render_all(dashboards, tmp_path / "a"), render_all(dashboards, tmp_path / "b")
    assert len(first) == 3
    for a, b in zip(first, second, strict=True):
        assert a.png.read_bytes() == b.png.read_bytes(), a.uid
    assert (tmp_path / "a/index.html").read_bytes() == (tmp_path / "b/index.html").read_bytes()
    assert b"Software" not in first[0].png.read_bytes()  # no matplotlib version (nor time) in the PNG


def test_files_preview_did_not_write_are_left_alone(tmp_path):
    """--to may name a folder with the user's own pictures and pages: nothing there is overwritten."""
    overview = load_dashboards(ROOT / "generated", ["fugatto_overview"])
    render_all(overview, tmp_path)  # its own files: drawn again freely
    render_all(overview, tmp_path)
    for name, mine in (("index.html", b"<html>my notes</html>"), ("fugatto_overview.png", b"\x89PNG not ours")):
        folder = tmp_path / name.replace(".", "-")
        folder.mkdir()
        (folder / name).write_bytes(mine)
        with pytest.raises(DashboardError, match=f"{name}: exists and was not written by stackgen preview"):
            render_all(overview, folder)
        assert (folder / name).read_bytes() == mine and sorted(p.name for p in folder.iterdir()) == [name]


def test_an_unknown_panel_type_is_a_placeholder(tmp_path):
    dashboard = {"uid": "odd", "title": "Odd <one>", "panels": [
        {"id": 1, "type": "piechart-from-the-future", "title": "Pie", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 6},
         "targets": [{"refId": "A", "expr": "up"}]},
        {"id": 2, "type": "timeseries", "title": "no gridPos, odd fieldConfig", "fieldConfig": "??"},
        {"id": 3, "type": "row", "title": "A row", "gridPos": {"x": 0, "y": 14, "w": 24, "h": 1}, "panels": [
            {"id": 4, "title": "typeless, beyond the grid", "gridPos": {"x": 30, "y": 15, "w": 40, "h": 3}}]},
        "not a panel",
    ]}
    preview = render_dashboard(dashboard, tmp_path / "odd.png")
    drawn = {pid: r.drawn for pid, r in preview.panels.items()}
    assert drawn == {1: "placeholder", 2: "queries", 3: "row", 4: "placeholder"}
    assert preview.panels[2].box.top == 44 + 6 * 38 + 4  # below everything before it
    assert preview.panels[4].box.right <= 1200
    assert Image.open(preview.png).size == preview.size


def _stackgen(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_cli_writes_pngs_and_a_page_and_refuses_bad_input(tmp_path):
    result = _stackgen("preview", "--to", str(tmp_path / "p"), "--dashboard", OPERATIONS)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "p").iterdir()) == ["fugatto-audio-lab.png", "index.html"]
    assert "Fugatto Audio Lab - Operations Dashboard" in (tmp_path / "p/index.html").read_text()
    for args, message in [(("--dashboard", "nope"), "--dashboard nope: no generated dashboard has this uid"),
                          (("--prometheus", "localhost:9090"), "--prometheus: 'localhost:9090' is not an http(s) URL"),
                          (("--range", "an hour"), "--range: ")]:
        result = _stackgen("preview", "--to", str(tmp_path / "bad"), *args)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists()
    broken = tmp_path / "out/grafana/dashboards"
    broken.mkdir(parents=True)
    (broken / "x.json").write_text('{"panels": [}')
    result = _stackgen("preview", "--out", str(tmp_path / "out"), "--to", str(tmp_path / "bad"))
    assert result.returncode == 2 and "x.json:1:" in result.stderr and not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_an_out_without_dashboards_renders_the_spec_in_memory(tmp_path):
    result = _stackgen("preview", "--out", str(tmp_path / "none"), "--to", str(tmp_path / "p"))
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "p").glob("*.png"))) == 3
    assert not (tmp_path / "none").exists()
