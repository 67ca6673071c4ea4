"""Pictures of the generated Grafana dashboards, drawn from the generated JSON itself (issue 27).

layout places panels on Grafana's 24-column grid, query asks Prometheus's query_range API, units formats
values the way Grafana's unit ids read, draw paints one PNG a dashboard with matplotlib, page writes the
index.html linking them, and serve re-renders on each page load. `render_all` ties them together.
"""

from stackgen.preview.draw import DashboardPreview, PanelReport, render_all, render_dashboard
from stackgen.preview.layout import Box, layout
from stackgen.preview.load import DashboardError, load_dashboards

__all__ = ["Box", "DashboardError", "DashboardPreview", "PanelReport", "layout", "load_dashboards", "render_all",
           "render_dashboard"]
