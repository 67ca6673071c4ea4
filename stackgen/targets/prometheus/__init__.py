"""Prometheus: the server config, alert and SLO rule files, and their promtool unit tests."""
