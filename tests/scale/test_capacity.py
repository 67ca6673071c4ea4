"""`stackgen explain capacity`: the series arithmetic, by hand, on the small base spec."""

from __future__ import annotations

import math

from stackgen.model import capacity
from stackgen.model.servers import hashmod
from tests.targets_deploy.deploy_specs import load, problems

CARDINALITY = (("        labels: [code]\n", "        labels: [code]\n        cardinality: {code: [200, 404, 500]}\n"),)


def test_series_of_each_family_by_hand(tmp_path):
    spec = load(tmp_path, edits=CARDINALITY).spec
    (api,) = capacity.plan(spec).services
    counter = 3  # code takes 3 declared values
    histogram = 4 + 1 + 2  # 4 buckets, +Inf, _sum, _count
    gauge = 1
    assert api.series == counter + histogram + gauge + capacity.SCRAPE_SERIES
    assert api.assumed == ()
    assert math.isclose(api.samples_per_second, api.series / 15)


def test_replicas_and_undeclared_labels_multiply(tmp_path):
    spec = load(tmp_path, service="    replicas: 3\n").spec
    (api,) = capacity.plan(spec).services
    per_target = capacity.DEFAULT_LABEL_VALUES + 7 + 1 + capacity.SCRAPE_SERIES
    assert api.series == 3 * per_target
    assert api.assumed == ("http_requests_total/code",)


def test_head_memory_follows_the_documented_per_series_cost():
    # 2 x (732 + 32 x 4 + 2 x 10) index bytes + 2 x 1.5 x 2 B x 720 samples (3 h at 15 s)
    assert capacity.series_bytes(4, 10, 15) == 2 * (732 + 128 + 20) + 2 * 1.5 * 2 * 720


def test_a_stack_beyond_the_budget_gets_enough_shards_for_its_fullest_shard(tmp_path):
    spec = load(tmp_path, edits=CARDINALITY).spec
    plan = capacity.plan(spec, budget=5)
    assert plan.stack.series == 16
    # one service: every shard but one is empty, so no number of shards brings it under 5
    assert plan.recommended_shards == 100
    assert capacity.plan(spec, budget=16).recommended_shards == 1
    assert "recommended: shards: 1" in capacity.explain(spec, budget=16)


def test_shard_loads_follow_prometheus_hashmod():
    # Prometheus: md5 of the joined source labels, last 8 bytes big-endian, modulo.
    assert hashmod("fugatto-audio-lab", 1) == 0
    import hashlib
    digest = hashlib.md5(b"api").digest()
    assert hashmod("api", 7) == int.from_bytes(digest[8:], "big") % 7
    estimates = [capacity.Estimate(f"s{i}", 10, 1.0, 1) for i in range(50)]
    loads = capacity._shard_loads(estimates, 4)
    assert sum(loads) == 500 and all(loads)


def test_slo_records_count_as_rule_series(tmp_path):
    spec = load(tmp_path, edits=CARDINALITY).spec
    (api,) = capacity.plan(spec, {"api": 12}).services
    assert api.rule_series == 12 and api.series == 16 + 12


def test_cardinality_must_name_a_label_and_list_each_value_once(tmp_path):
    assert "not one of the metric's labels" in problems(tmp_path, edits=(
        ("        labels: [code]\n", "        labels: [code]\n        cardinality: {method: 3}\n"),))
    assert "lists a value twice" in problems(tmp_path, edits=(
        ("        labels: [code]\n", "        labels: [code]\n        cardinality: {code: [200, 200]}\n"),))


def test_label_sets_replace_the_cross_product(tmp_path):
    """A route has a few method/status pairs, not every combination: label_sets says how many."""
    spec = load(tmp_path, edits=(("        labels: [code]\n", "        labels: [code]\n        label_sets: 2\n"),)).spec
    (api,) = capacity.plan(spec).services
    assert api.series == 2 + 7 + 1 + capacity.SCRAPE_SERIES and api.assumed == ()


def test_label_sets_must_fit_the_declared_values(tmp_path):
    declared = "        labels: [code]\n        cardinality: {code: [200, 404, 500]}\n"
    too_many = (("        labels: [code]\n", declared + "        label_sets: 4\n"),)
    assert "label_sets (4) exceeds the 3 combinations" in problems(tmp_path, edits=too_many)
    fits = load(tmp_path, edits=(("        labels: [code]\n", declared + "        label_sets: 3\n"),)).spec
    assert capacity.plan(fits).services[0].series == 3 + 7 + 1 + capacity.SCRAPE_SERIES
