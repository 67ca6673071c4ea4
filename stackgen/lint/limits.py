"""A gauge alert on memory must fire below the memory there is, in every environment.

The kernel OOM-kills the container when its memory reaches `resources.limits.memory`, so an alert
on a memory gauge with a threshold at or above the limit never fires: the pod restarts first. A GPU-memory
gauge is bounded by the GPU instead (`resources.gpu_memory`, when the spec states it): CUDA allocations
fail at it. Threshold and predict_linear alerts are both checked. Environments override both the limit
(`resources`) and the threshold (`alert_thresholds`), so each is checked with its own values.
Rule id: alert-threshold-at-limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from stackgen.diagnostics import Diagnostic
from stackgen.lint.context import Context
from stackgen.model.deploy import environment_alerts
from stackgen.model.promql import number
from stackgen.spec.alerts import PredictLinearAlert, ThresholdAlert
from stackgen.spec.deploy import Environment
from stackgen.spec.load import Path_

_UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)([A-Za-z]*)$")
# Process, container or GPU memory in bytes (a name with `gpu` in it is the GPU's).
_MEMORY_GAUGE = re.compile(r"(^|_)memory(_[a-z]+)*_bytes$")


def quantity_bytes(quantity: str) -> float:
    """A Kubernetes memory quantity (`8Gi`, `512M`) in bytes."""
    number, unit = _QUANTITY.match(quantity).groups()  # type: ignore[union-attr]  # the spec type enforces the form
    return float(number) * _UNITS[unit]


def check(ctx: Context) -> Iterator[Diagnostic]:
    envs: list[tuple[int | None, Environment | None]] = [(None, None), *enumerate(ctx.spec.environments)]
    for i, service in enumerate(ctx.spec.services):
        for k, env in envs:
            override = env.services.get(service.name) if env else None
            resources = override.resources if override and override.resources else service.resources
            for j, alert in enumerate(environment_alerts(service, env)):
                if not (isinstance(alert, ThresholdAlert | PredictLinearAlert) and alert.op in (">", ">=")
                        and _MEMORY_GAUGE.search(alert.gauge.metric)):
                    continue
                gpu = "gpu" in alert.gauge.metric
                # an environment's resources without gpu_memory keep the base's: the GPU is the hardware's
                quantity = (resources.gpu_memory or service.resources.gpu_memory) if gpu else resources.limits.memory
                if quantity is None or alert.threshold < (limit := quantity_bytes(quantity)):
                    continue
                where = "" if env is None else f" in environment {env.name!r}"
                field = ("gpu_memory",) if gpu else ("limits", "memory")
                path: Path_ = ("services", i, "alerts", j, "threshold")
                if k is not None and override is not None:
                    if alert.name in override.alert_thresholds:
                        path = ("environments", k, "services", service.name, "alert_thresholds", alert.name)
                    elif override.resources is not None and (not gpu or override.resources.gpu_memory is not None):
                        path = ("environments", k, "services", service.name, "resources", *field)
                if k is not None and path[0] == "services":
                    continue  # the environment changes neither value: the base finding covers it
                what = (f"each GPU has {quantity}" if gpu else f"the memory limit{where} is {quantity}")
                outcome = ("GPU allocations fail before the alert can fire" if gpu
                           else "the container is OOM-killed before the alert can fire")
                if gpu and where:
                    what = f"each GPU{where} has {quantity}"
                yield ctx.finding(
                    "alert-threshold-at-limit", path,
                    f"alert {alert.name} fires when {alert.gauge.metric} {alert.op} {number(alert.threshold)}, but "
                    f"{what} ({number(limit)} bytes): {outcome}",
                    f"alert below the limit, e.g. at 90% of it: {int(limit * 0.9)}")
