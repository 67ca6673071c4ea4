"""The served page in a real browser: headless Chromium loads it, its DOM names every dashboard and links each
PNG, and its screenshot is a picture (not blank). Each page load draws again from Prometheus."""

from __future__ import annotations

import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from stackgen.preview import load_dashboards, render_all
from stackgen.preview.draw import Source
from stackgen.preview.serve import start
from tests.preview.conftest import SPAN, T0

pytestmark = [pytest.mark.slow, pytest.mark.live]
ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def served(prometheus, tmp_path):
    dashboards = load_dashboards(ROOT / "generated")
    loads: list[int] = []

    def draw() -> Path:
        loads.append(1)
        render_all(dashboards, tmp_path / "site", Source(prometheus, float(T0 + SPAN), 3000.0))
        return tmp_path / "site"

    server, thread = start(draw)
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", dashboards, loads
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (scripts/test installs it)")
def test_chromium_shows_every_dashboard_title(served, tmp_path):
    url, dashboards, loads = served
    dom = _chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "<title>stackgen preview: 3 dashboard(s)</title>" in dom.stdout
    for dashboard in dashboards:
        assert f'<h2 id="{dashboard["uid"]}">{dashboard["title"]}</h2>' in dom.stdout
        assert f'src="{dashboard["uid"]}.png"' in dom.stdout
    shot = tmp_path / "page.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1280,2400", url)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    image = Image.open(shot).convert("L")
    assert image.size == (1280, 2400)
    low, high = image.getextrema()
    assert high - low > 100  # text and pictures, not one flat colour
    assert sum(1 for count in image.histogram() if count) > 20  # many grey levels
    assert len(loads) == 2  # one drawing per page load (the PNG requests reuse it)


def test_each_page_load_draws_again_and_only_the_folder_is_served(served):
    url, _, loads = served
    for _ in range(2):
        with urllib.request.urlopen(url, timeout=60) as response:
            assert response.headers["Content-Type"].startswith("text/html")
    with urllib.request.urlopen(url + "fugatto-audio-lab.png", timeout=60) as response:
        assert response.read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(loads) == 2
    for path in ("../../etc/passwd", ".index.html.partial", "nothing.png", "%2e%2e/x.png"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(url + path, timeout=10)
        assert error.value.code == 404, path
