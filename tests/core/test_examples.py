"""Every stack under examples/ renders to its committed generated/, and `stackgen check` and
`stackgen lint` accept it: the features work for stacks other than the bundled one."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(d for d in (ROOT / "examples").iterdir() if (d / "stack.yaml").is_file())


def test_the_examples_are_there():
    # Discovery must not shrink silently: a renamed or deleted example would just drop out of the runs below.
    assert {"three-services", "llm-serving"} <= {d.name for d in EXAMPLES}
    assert len(EXAMPLES) >= 2
    for example in EXAMPLES:
        assert (example / "generated" / ".stackgen-manifest.json").is_file(), \
            f"render it: .venv/bin/python -m tests.golden.regenerate examples/{example.name}"


def test_three_services_share_one_tree_routed_by_team_then_severity():
    from stackgen.pipeline import load_stack

    spec = load_stack(ROOT / "examples" / "three-services" / "stack.yaml").spec
    images = {s.name: f"{s.image.repository}:{s.image.tag}" for s in spec.services}
    assert images == {"fugatto-audio-lab": "fugatto-audio-lab:0.1.0", "orders": "example/orders:1.4.2",
                      "billing": "example/billing:3.2.0"}
    metrics = {s.name: {m.name for m in s.metrics} for s in spec.services}
    assert {"go_goroutines", "http_requests_total", "http_request_duration_seconds"} <= metrics["orders"]
    assert {"jvm_memory_used_bytes", "http_server_requests_seconds"} <= metrics["billing"]
    teams = {s.team for s in spec.services}
    team_routes = {r.matchers[0]: [c.matchers for c in r.routes] for r in spec.alertmanager.route.routes
                   if r.matchers[0].startswith("team=")}
    assert set(team_routes) == {f'team="{team}"' for team in teams}
    assert all(children == [['severity="critical"']] for children in team_routes.values())


def test_llm_serving_watches_first_token_throughput_and_kv_cache():
    from stackgen.pipeline import load_stack

    (service,) = load_stack(ROOT / "examples" / "llm-serving" / "stack.yaml").spec.services
    types = {m.name: m.type for m in service.metrics}
    assert types["llm_time_to_first_token_seconds"] == "histogram"
    assert types["llm_generation_tokens_total"] == "counter"
    assert types["llm_kv_cache_usage_ratio"] == "gauge" and types["llm_requests_waiting"] == "gauge"
    alerted = {selector.metric for alert in service.alerts for _, selector in alert.selectors()}
    assert {"llm_time_to_first_token_seconds", "llm_kv_cache_usage_ratio", "llm_requests_waiting"} <= alerted
    assert any(slo.sli.kind == "latency" and slo.sli.histogram.metric == "llm_time_to_first_token_seconds"
               for slo in service.slos)


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda d: d.name)
def test_check_and_lint_accept_the_example(example: Path):
    from stackgen.cli import app

    args = ["--spec", str(example / "stack.yaml"), "--out", str(example / "generated")]
    checked = CliRunner().invoke(app, ["check", *args])
    assert checked.exit_code == 0, checked.output
    assert "is in sync with" in checked.output and "and valid" in checked.output
    linted = CliRunner().invoke(app, ["lint", *args])
    assert linted.exit_code == 0, linted.output
    assert "lint: 0 error(s), 0 warning(s)" in linted.output
