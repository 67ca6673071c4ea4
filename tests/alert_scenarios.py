"""The generated alert scenarios of a rendered test file, one per alert, even where several share a promtool
test group (stackgen/targets/prometheus/test_groups.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from stackgen.targets.prometheus.test_groups import apart, rule_reads


def scenarios(rendered: Path, tests_file: str, rules_file: str) -> list[dict[str, Any]]:
    reads = rule_reads(yaml.safe_load((rendered / rules_file).read_text(encoding="utf-8"))["groups"])
    return [one for case in yaml.safe_load((rendered / tests_file).read_text(encoding="utf-8"))["tests"]
            for one in apart(case, reads)]
