"""Helpers for the SLO tests: specs derived from the committed stack.yaml with one part changed."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from stackgen.diagnostics import SpecError
from stackgen.resolve import Stack, load_stack

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = yaml.safe_load((ROOT / "stack.yaml").read_text(encoding="utf-8"))


def base_spec() -> dict[str, Any]:
    return copy.deepcopy(BASE)


def slo(name: str = "avail", objective: float = 99.9, period: str = "30d", **alerting: Any) -> dict[str, Any]:
    return {
        "name": name,
        "sli": {"kind": "availability",
                "bad": {"metric": "fugatto_requests_total", "matchers": ['status=~"5.."']},
                "total": {"metric": "fugatto_requests_total"}},
        "objective": objective,
        "period": period,
        "alerting": {"runbook_url": "https://runbooks.example.com/x", **alerting},
    }


@pytest.fixture
def make_stack(tmp_path: Path) -> Callable[[dict[str, Any]], Stack]:
    def make(data: dict[str, Any]) -> Stack:
        path = tmp_path / "stack.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return load_stack(path)

    return make


@pytest.fixture
def spec_errors(make_stack: Callable[[dict[str, Any]], Stack]) -> Callable[[dict[str, Any]], list[str]]:
    def errors(data: dict[str, Any]) -> list[str]:
        with pytest.raises(SpecError) as info:
            make_stack(data)
        return [str(p) for p in info.value.problems]

    return errors


def with_slos(*slos: dict[str, Any], alerts: bool = True) -> dict[str, Any]:
    data = base_spec()
    data["services"][0]["slos"] = list(slos)
    if not alerts:
        data["services"][0]["alerts"] = []
        data.pop("environments", None)  # their threshold overrides name the dropped alerts
    return data


def slo_test_files(tests_dir: Path) -> list[str]:
    """The SLO unit-test files of a rendered tests folder: the main one and, where the ticket tiers were split
    off to be evaluated hourly, theirs (targets/prometheus/slo_tests.py)."""
    return sorted(p.name for p in tests_dir.glob("*-slos*.test.yml"))


def slo_test_cases(files: dict[str, str], service: str = "fugatto-audio-lab") -> list[dict[str, Any]]:
    """Every test case of a service's SLO test files, from a render's {path: text}."""
    return [case for suffix in ("slos", "slos-ticket")
            for case in (yaml.safe_load(files.get(f"prometheus/tests/{service}-{suffix}.test.yml", "")) or {})
            .get("tests", [])]

