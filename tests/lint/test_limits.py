"""A memory alert at or above the memory limit it measures is flagged, in the base and every environment."""

from __future__ import annotations

import yaml

from .conftest import SPEC_TEXT, errors, replace_once

BASE_THRESHOLD = "threshold: 7730941132"
DEV_THRESHOLD = "HighMemoryUsage: 3865470566"
ALERT_NAMES = [a["name"] for a in yaml.safe_load(SPEC_TEXT)["services"][0]["alerts"]]


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


GPU_THRESHOLD = "threshold: 81604378624"  # GPUMemoryExhaustion (predict_linear): 95% of gpu_memory 80Gi


def test_a_gpu_memory_alert_at_the_gpus_memory_is_flagged(lint_text):
    found = errors(lint_text(replace_once(SPEC_TEXT, GPU_THRESHOLD, "threshold: 85899345920")),
                   "alert-threshold-at-limit")
    assert len(found) == 1, found  # dev overrides resources but keeps the base's gpu_memory: one finding
    assert found[0].location().endswith(f"services[0].alerts[{ALERT_NAMES.index('GPUMemoryExhaustion')}].threshold")
    assert found[0].message == (
        "alert GPUMemoryExhaustion fires when fugatto_gpu_memory_usage_bytes > 85899345920, but each GPU has 80Gi "
        "(85899345920 bytes): GPU allocations fail before the alert can fire")
    near = replace_once(SPEC_TEXT, GPU_THRESHOLD, "threshold: 85899345919")
    assert errors(lint_text(near), "alert-threshold-at-limit") == []
    # without gpu_memory the GPU's size is unknown: nothing to compare with
    unknown = replace_once(replace_once(SPEC_TEXT, GPU_THRESHOLD, "threshold: 85899345920"),
                           "      gpu_memory: 80Gi", "      # gpu_memory: 80Gi")
    assert errors(lint_text(unknown), "alert-threshold-at-limit") == []
