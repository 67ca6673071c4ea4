"""The rule files of each service: its alert rules and its SLO rules.

`rule_file_groups` is the one list of every rule file and group a service gets; the rule files, the
`rule_files:` of prometheus.yml and the Kubernetes PrometheusRule (via `rule_groups_of`) all read it,
so a new rule family (e.g. SLO recording rules in `<service>-slos.yml`) is added there once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stackgen.model import names
from stackgen.output.artifact import Artifact
from stackgen.output.serialize import yaml_artifact
from stackgen.resolve import Stack
from stackgen.spec.deploy import Environment
from stackgen.spec.models import Spec
from stackgen.spec.service import Service
from stackgen.targets.prometheus.alert_rules import alert_groups
from stackgen.targets.prometheus.slo_rules import slo_rules


def render(stack: Stack) -> list[Artifact]:
    header = names.header(stack.spec_name)
    return [yaml_artifact(path, {"groups": groups}, header)
            for service in stack.spec.services for path, groups in rule_file_groups(stack, service).items()]


def rule_file_groups(stack: Stack, service: Service, env: Environment | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every rule file of the service (generated/ path -> its groups), files without rules left out.

    `env` applies an environment's alert and SLO objective overrides (the Kubernetes overlays); None
    gives exactly what the rule files hold.
    """
    groups_of = {
        names.alert_rules_file(service.name): lambda: alert_groups(stack.spec, service, env),
        names.slo_rules_file(service.name): lambda: slo_rules(stack.slos_of(service, env.name if env else None))["groups"],
    }
    return {path: groups_of[path]() for path in names.rule_files(service)}


def rule_groups_of(stack: Stack, service: Service, env: Environment | None = None) -> list[dict[str, Any]]:
    """All the service's rule groups, in rule-file order: what its PrometheusRule carries."""
    return [group for groups in rule_file_groups(stack, service, env).values() for group in groups]


def rule_files(spec: Spec, keep: Callable[[Service], bool] | None = None) -> list[str]:
    """Rule files relative to prometheus.yml (Prometheus resolves them against the config's folder); `keep`
    picks the services (a shard's)."""
    prefix = "prometheus/"
    files = [path for s in spec.services if keep is None or keep(s) for path in names.rule_files(s)]
    return sorted(f.removeprefix(prefix) for f in files)
