"""Scrape settings that depend on more than one part of the spec: timeout against interval, credentials as files."""

from __future__ import annotations

from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.spec.load import Positions
from stackgen.spec.models import Spec


def check_scrape(spec: Spec, positions: Positions) -> Iterator[Diagnostic]:
    for i, service in enumerate(spec.services):
        scrape, path = service.scrape, ("services", i, "scrape")
        interval = service.scrape_interval or spec.prometheus.scrape_interval
        if scrape.timeout is not None and scrape.timeout > interval:
            # Prometheus refuses the whole config: a scrape cannot outlast the next one.
            yield positions.problem((*path, "timeout"), f"scrape timeout {scrape.timeout} exceeds the job's scrape "
                                                        f"interval {interval}")
        for where, ref in scrape.secret_refs():
            if ref.file is None:
                yield positions.problem((*path, *where), "Prometheus reads scrape credentials from files only: "
                                                         "use {file: /path}")
