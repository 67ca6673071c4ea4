"""Preview writes only where it wrote before: a PNG or index.html already in the target folder must carry
stackgen preview's mark, or nothing is drawn. `--to` and `review --previews` name folders a user may
already keep other pictures and pages in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from stackgen.preview.load import DashboardError

GENERATOR = "stackgen preview"
PNG_METADATA = {"Software": None, "Generator": GENERATOR}  # None: matplotlib writes its version otherwise
HTML_MARK = f"<!-- written by {GENERATOR}: redrawn on each run -->"


def _ours(path: Path) -> bool:
    if path.suffix == ".html":
        with open(path, encoding="utf-8", errors="replace") as handle:
            return HTML_MARK in handle.read(512)
    try:
        with Image.open(path) as image:
            return image.info.get("Generator") == GENERATOR
    except (OSError, UnidentifiedImageError):
        return False


def refuse_foreign(paths: Iterable[Path]) -> None:
    """Raise DashboardError naming the first of `paths` that exists and was not written by preview."""
    for path in paths:
        if path.exists() and not (path.is_file() and _ours(path)):
            raise DashboardError(f"{path}: exists and was not written by stackgen preview; it is left alone "
                                 f"(choose another folder, or move it)")
