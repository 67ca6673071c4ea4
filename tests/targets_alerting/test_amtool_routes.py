"""check's routing tests: real `amtool config routes test` per case, one run for cases that agree on every
label a route matches on (checks.amtool.route_labels)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from stackgen.checks import amtool


def test_route_labels_are_every_label_a_route_matches_on():
    route = {"receiver": "default", "routes": [
        {"matchers": ['severity="critical"', '"team.name"=~"a|b"'], "routes": [{"match": {"service": "x"}}]},
        {"match_re": {"env": "prod.*"}, "matchers": ["region != eu"]},
    ]}
    assert amtool.route_labels(route) == {"severity", "team.name", "service", "env", "region"}
    assert amtool.route_labels({"routes": [{"matchers": ["{severity=critical}"]}]}) is None  # unreadable: no sharing
    assert amtool.route_labels({"routes": [{"matchers": ['"team\\"x"="a"']}]}) is None  # escaped: not guessed


def _cases(root: Path, cases: list[dict]) -> str:
    tests = "alertmanager/tests/routes.yml"
    (root / tests).write_text(yaml.safe_dump({"tests": cases}), encoding="utf-8")
    return tests


@pytest.mark.slow  # amtool
def test_cases_differing_by_an_unrouted_label_share_a_run_and_a_wrong_one_still_fails(rendered: Path, monkeypatch):
    calls = []
    real_run = amtool.run
    monkeypatch.setattr(amtool, "run", lambda args, cwd: calls.append(args) or real_run(args, cwd=cwd))
    cases = [{"name": f"{service} critical", "labels": {"service": service, "severity": "critical"},
              "receivers": ["critical-alerts"]} for service in ("a", "b", "c")]
    cases.append({"name": "d critical", "labels": {"service": "d", "severity": "critical"}, "receivers": ["web.hook"]})
    tests = _cases(rendered, cases)
    findings = amtool._route_tests("amtool", rendered, tests)
    assert [f.message.split(":")[0] for f in findings] == ["d critical"]  # the right three pass, the wrong one fails
    assert len(calls) == 2  # `service` is in no route: a, b and c are one run

    cases[1]["receivers"] = ["web.hook"]  # a wrong expectation is its own key: never hidden behind a shared run
    findings = amtool._route_tests("amtool", rendered, _cases(rendered, cases))
    assert [f.message.split(":")[0] for f in findings] == ["b critical", "d critical"]
