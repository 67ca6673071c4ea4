"""index.html: every dashboard's title as a heading above its PNG. Static, escaped, no timestamp."""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import TYPE_CHECKING

from stackgen.preview import owned

if TYPE_CHECKING:
    from stackgen.preview.draw import DashboardPreview

STYLE = ("body{background:#111217;color:#ccccdc;font-family:'DejaVu Sans',sans-serif;margin:16px}"
         "img{max-width:100%;height:auto;border:1px solid #2c3235}a{color:#8ab8ff}")


def index_html(previews: list[DashboardPreview], prometheus: str | None) -> str:
    source = f"data from {html.escape(prometheus)}" if prometheus else "layout and queries only (no Prometheus)"
    parts = ["<!DOCTYPE html>", owned.HTML_MARK, '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>stackgen preview: {len(previews)} dashboard(s)</title>", f"<style>{STYLE}</style>", "</head>",
             "<body>", "<h1>Dashboard previews</h1>", f"<p>{source}</p>", "<ul>"]
    parts += [f'<li><a href="#{html.escape(p.uid, quote=True)}">{html.escape(p.title)}</a></li>' for p in previews]
    parts.append("</ul>")
    for p in previews:
        name = html.escape(p.png.name, quote=True)
        parts += [f'<h2 id="{html.escape(p.uid, quote=True)}">{html.escape(p.title)}</h2>',
                  f"<p>uid {html.escape(p.uid)}, {len(p.panels)} panel(s)</p>",
                  f'<p><a href="{name}"><img src="{name}" width="{p.size[0]}" height="{p.size[1]}" '
                  f'alt="{html.escape(p.title, quote=True)}"></a></p>']
    return "\n".join([*parts, "</body>", "</html>", ""])


def write_index(to: Path, previews: list[DashboardPreview], prometheus: str | None) -> Path:
    path = to / "index.html"
    partial = to / ".index.html.partial"
    partial.write_text(index_html(previews, prometheus), encoding="utf-8")
    os.replace(partial, path)
    return path
