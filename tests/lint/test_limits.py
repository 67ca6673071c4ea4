"""A memory alert at or above the memory limit it measures is flagged, in the base and every environment."""

from __future__ import annotations

from .conftest import SPEC_TEXT, errors, replace_once

BASE_THRESHOLD = "threshold: 7730941132"
DEV_THRESHOLD = "HighMemoryUsage: 3865470566"


def test_the_bundled_stack_alerts_below_its_memory_limit(lint_text):
    assert errors(lint_text(SPEC_TEXT), "alert-threshold-at-limit") == []


def test_a_base_threshold_equal_to_the_limit_is_flagged(lint_text):
    found = errors(lint_text(replace_once(SPEC_TEXT, BASE_THRESHOLD, "threshold: 8589934592")),
                   "alert-threshold-at-limit")
    assert len(found) == 1, found  # prod inherits both values: one finding, at the base threshold
    assert found[0].location().endswith("services[0].alerts[3].threshold")
    assert "memory limit is 8Gi" in found[0].message and "OOM-killed" in found[0].message
    assert "7730941132" in found[0].fix


def test_an_environment_threshold_at_its_own_limit_is_flagged(lint_text):
    found = errors(lint_text(replace_once(SPEC_TEXT, DEV_THRESHOLD, "HighMemoryUsage: 4294967296")),
                   "alert-threshold-at-limit")
    assert len(found) == 1, found
    assert found[0].location().endswith("environments[0].services.fugatto-audio-lab.alert_thresholds.HighMemoryUsage")
    assert "in environment 'dev' is 4Gi" in found[0].message


def test_an_environment_lowering_the_limit_under_the_base_threshold_is_flagged(lint_text):
    # without its own threshold, dev keeps the base 7.2 GiB against its 4Gi limit
    found = errors(lint_text(replace_once(SPEC_TEXT, "          " + DEV_THRESHOLD + "  # 90% of the 4Gi dev memory limit\n", "")),
                   "alert-threshold-at-limit")
    assert len(found) == 1, found
    assert found[0].location().endswith("environments[0].services.fugatto-audio-lab.resources.limits.memory")
    assert "in environment 'dev' is 4Gi" in found[0].message
