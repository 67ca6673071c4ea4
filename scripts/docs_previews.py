"""Redraw docs/images/preview-*.png: the bundled stack's dashboards, drawn by `stackgen preview` from the native
stack (drill profile) after two minutes of generation requests. Run it under the live lock:

    flock /tmp/stackgen-live.lock .venv/bin/python scripts/docs_previews.py

The PNGs are reduced to 64 colours so that they stay small in the repository.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from stackgen.runtime.drill import Load

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs/images"
LOAD_S = 120


def stackgen(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "stackgen", *args], cwd=ROOT, check=True, timeout=600)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        stackgen("up", "--runtime", "native", "--profile", "drill", "--out", str(work / "generated"),
                 "--run-dir", str(work / "run"))
        try:
            urls = {c["name"]: c["url"] for c in json.loads((work / "run/state.json").read_text())["components"]}
            with Load(urls["fugatto-audio-lab"]):
                time.sleep(LOAD_S)
            stackgen("preview", "--out", str(work / "generated"), "--prometheus", urls["prometheus"], "--range", "3m",
                     "--to", str(work / "preview"))
        finally:
            stackgen("down", "--runtime", "native", "--run-dir", str(work / "run"))
        IMAGES.mkdir(exist_ok=True)
        for png in sorted((work / "preview").glob("*.png")):
            image = Image.open(png).convert("RGB").quantize(64, method=Image.Quantize.MEDIANCUT)
            image.save(IMAGES / f"preview-{png.name}", optimize=True)
            print(IMAGES / f"preview-{png.name}")


if __name__ == "__main__":
    main()
