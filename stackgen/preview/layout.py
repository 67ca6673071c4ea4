"""Grafana's grid in pixels: 24 columns, each panel at its gridPos, one Box per panel id.

The tests check the PNG against this report, so the drawing code takes every box from here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

COLUMNS = 24  # Grafana's grid is 24 columns wide whatever the screen
COLUMN_PX = 50  # so the image is 1200 px wide
ROW_PX = 38  # Grafana's row unit: a 30 px cell and an 8 px margin
GAP_PX = 8  # the margin between panels, split around each box
HEADER_PX = 44  # the band with the dashboard's title above the grid
DEFAULT_HEIGHT = 8  # for a panel without a usable gridPos (Grafana's default panel height)


@dataclass(frozen=True)
class Box:
    """A panel's rectangle in image pixels, origin at the image's top left."""

    left: int
    top: int
    width: int
    height: int

    @property
    def right(self) -> int:
        return self.left + self.width

    @property
    def bottom(self) -> int:
        return self.top + self.height


@dataclass(frozen=True)
class Placed:
    panel: dict
    grid: tuple[int, int, int, int]  # x, y, w, h as used (clamped to the grid)
    box: Box


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def flatten(panels: list) -> list[dict]:
    """Every panel of a dashboard in order, with the panels a collapsed row holds after the row."""
    out: list[dict] = []
    for panel in panels:
        if not isinstance(panel, dict):
            continue
        out.append(panel)
        if panel.get("type") == "row" and isinstance(panel.get("panels"), list):
            out += [p for p in panel["panels"] if isinstance(p, dict)]
    return out


def layout(panels: list) -> tuple[list[Placed], tuple[int, int]]:
    """Each panel placed on the grid, and the image size (width, height) in pixels.

    A gridPos out of the grid is clamped into it and a missing one goes below everything, full width: a preview
    of a hand-edited dashboard must still come out (Grafana does much the same)."""
    placed: list[Placed] = []
    bottom = 0
    for panel in flatten(panels):
        pos = panel.get("gridPos") if isinstance(panel.get("gridPos"), dict) else None
        if pos is None:
            x, y, w, h = 0, bottom, COLUMNS, DEFAULT_HEIGHT
        else:
            x = min(max(_int(pos.get("x"), 0), 0), COLUMNS - 1)
            w = min(max(_int(pos.get("w"), COLUMNS), 1), COLUMNS - x)
            y = max(_int(pos.get("y"), bottom), 0)
            h = max(_int(pos.get("h"), DEFAULT_HEIGHT), 1)
        bottom = max(bottom, y + h)
        half = GAP_PX // 2
        box = Box(x * COLUMN_PX + half, HEADER_PX + y * ROW_PX + half, w * COLUMN_PX - GAP_PX, h * ROW_PX - GAP_PX)
        placed.append(Placed(panel, (x, y, w, h), box))
    return placed, (COLUMNS * COLUMN_PX, HEADER_PX + max(bottom, 1) * ROW_PX)
