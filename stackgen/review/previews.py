"""`stackgen review --previews DIR`: a before and an after PNG of each dashboard whose generated JSON changed,
drawn by stackgen.preview (layout and queries: a review has no live data), and the Markdown that shows them side
by side in a pull-request comment. Image paths in the Markdown are relative to the report, as DIR/<file>.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path

from stackgen.preview.draw import file_name, render_dashboard
from stackgen.preview.load import from_texts
from stackgen.preview.owned import refuse_foreign
from stackgen.review.dashboards import DASHBOARDS
from stackgen.review.sides import Side


@dataclass(frozen=True)
class Pair:
    title: str
    before: Path | None  # None: the dashboard is new
    after: Path | None  # None: the dashboard was removed


def _boards(side: Side) -> dict[str, str]:
    return {a.path: a.content for a in side.artifacts if a.path.startswith(DASHBOARDS) and a.path.endswith(".json")}


def write_previews(base: Side, head: Side, folder: Path) -> list[Pair]:
    """Draw each changed dashboard of both sides into `folder` (`<uid>.before.png`, `<uid>.after.png`)."""
    old, new = _boards(base), _boards(head)
    planned: list[tuple[str, str, dict, Path]] = []  # (dashboard path, before/after, dashboard, png)
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        for which, texts in (("before", old), ("after", new)):
            if path in texts:
                (board,) = from_texts({path: texts[path]})
                name = file_name(str(board.get("uid") or Path(path).stem)).removesuffix(".png")
                planned.append((path, which, board, folder / f"{name}.{which}.png"))
    refuse_foreign(png for *_, png in planned)  # before anything is drawn
    drawn: dict[str, dict[str, Path | None]] = {}
    titles: dict[str, str] = {}
    for path, which, board, png in planned:
        drawn.setdefault(path, {"before": None, "after": None})[which] = render_dashboard(board, png).png
        titles[path] = str(board.get("title") or path)
    return [Pair(titles[path], sides["before"], sides["after"]) for path, sides in drawn.items()]


def markdown(pairs: list[Pair], folder: Path) -> str:
    if not pairs:
        return ""

    def cell(png: Path | None, missing: str) -> str:
        if png is None:
            return missing
        src = html.escape((folder / png.name).as_posix(), quote=True)
        return f'<img src="{src}" width="480" alt="{html.escape(png.name, quote=True)}">'

    lines = ["", "### Dashboard previews", "", "| dashboard | before | after |", "| --- | --- | --- |"]
    lines += [f"| {html.escape(p.title).replace('|', '&#124;')} | {cell(p.before, '(new)')} | {cell(p.after, '(removed)')} |"
              for p in pairs]
    return "\n".join(lines) + "\n"
