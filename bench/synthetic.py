"""A synthetic spec of N services with 25 alerts each, built from the bundled Fugatto service: a fleet from
one template, as large stacks are (the services differ by name and ports, their alerts and SLOs do not)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ALERTS_PER_SERVICE = 25


def synthetic_spec(services: int) -> str:
    base = yaml.safe_load((ROOT / "stack.yaml").read_text())
    template = base["services"][0]
    kinds = [a for a in template["alerts"] if a["kind"] not in ("watchdog", "target_down")]
    out = []
    for i in range(services):
        service = copy.deepcopy(template)
        service["name"] = f"svc-{i:03d}"
        service["ports"] = {"http": 20000 + 2 * i, "metrics": 20001 + 2 * i}  # compose publishes each on the host
        alerts = []
        for j in range(ALERTS_PER_SERVICE):
            alert = copy.deepcopy(kinds[j % len(kinds)])
            alert["name"] = f"{alert['name']}N{j}"  # unique per service, as stackgen requires
            alerts.append(alert)
        service["alerts"] = alerts
        out.append(service)
    base["services"] = out
    base.pop("environments", None)  # its overrides name the original service
    # the C dumper when PyYAML has it: a 1000-service spec takes minutes with the pure-Python one (bench/scale_bench.py)
    return yaml.dump(base, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)
