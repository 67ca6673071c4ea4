"""The native local stack: the bundled service, Prometheus, Alertmanager and a recording webhook
receiver as processes on 127.0.0.1, with configs rendered for localhost into a run directory.

`up` records what it started (pid, command line, URLs) in <run>/state.json; `down` stops exactly
those processes (a pid is only signalled while its command line still matches), `status` asks each
one's health endpoint. Ports are picked free at `up`, so a developer's own Prometheus on 9090 and a
CI job can coexist.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stackgen.model import names
from stackgen.output.serialize import yaml_text
from stackgen.resolve import Stack
from stackgen.runtime.profile import FACTOR, drill_stack
from stackgen.spec.models import Spec
from stackgen.spec.service import Service

STATE_FILE = "state.json"
TOKEN_FILE = "admin-token"
NOTIFICATIONS_FILE = "notifications.jsonl"
WEBHOOK = "webhook-receiver"
# Components the native runtime cannot start here (no Debian package); `up` reports them as skipped.
NOT_NATIVE = {"grafana": "grafana-server", "logstash": "logstash", "elasticsearch": "elasticsearch",
              "kibana": "kibana", "jaeger": "jaeger-all-in-one"}


class StackError(Exception):
    """The stack cannot be started, stopped or reached; the message says what to do."""


@dataclass
class Component:
    name: str
    argv: list[str]
    url: str
    health: str
    env: dict[str, str] = field(default_factory=dict)
    pid: int = 0


@dataclass
class State:
    run_dir: str
    profile: str
    components: list[Component]
    skipped: dict[str, str]
    notifications: str
    admin_token_file: str

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def save(self) -> None:
        path = Path(self.run_dir) / STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, run_dir: Path) -> State | None:
        path = run_dir / STATE_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        data["components"] = [Component(**c) for c in data["components"]]
        return cls(**data)


# --- processes --------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def is_running(component: Component) -> bool:
    """Alive and still the process we started (pids are reused)."""
    return component.pid > 0 and _cmdline(component.pid) == component.argv


def healthy(component: Component, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(component.health, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start(component: Component, log_dir: Path) -> None:
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / f"{component.name}.log", "ab")  # noqa: SIM115 - owned by the child
    process = subprocess.Popen(component.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               env={**os.environ, **component.env}, start_new_session=True)
    log.close()
    component.pid = process.pid


def stop(component: Component, grace: float = 10.0) -> bool:
    """SIGTERM the component's process group, SIGKILL after `grace`; True when it was running."""
    if not is_running(component):
        return False
    try:
        os.killpg(component.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap(component.pid)
        if _cmdline(component.pid) is None:
            return True
        time.sleep(0.1)
    try:
        os.killpg(component.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _reap(component.pid)
    return True


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def wait_healthy(component: Component, timeout: float, log_dir: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if healthy(component, timeout=1.0):
            return
        if not is_running(component):
            break
        time.sleep(0.2)
    tail = _tail(log_dir / f"{component.name}.log")
    state = "exited" if not is_running(component) else f"not healthy after {timeout:.0f}s"
    raise StackError(f"{component.name} {state} ({component.health}); last log lines:\n{tail}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- configs ----------------------------------------------------------------------------------

def _binary(*candidates: str) -> str:
    from stackgen.checks.tools import find

    return find(*candidates)


def _service_argv(service: Service, http: int, metrics: int) -> list[str]:
    """The service's own command, run with this interpreter and bound to localhost.

    Native runs need a Python command (`python -m module ...`); the flags --host, --port and
    --metrics-port are replaced with local values.
    """
    command = list(service.command)
    if len(command) < 3 or not command[0].startswith("python") or command[1] != "-m":
        raise StackError(f"service {service.name!r}: the native runtime runs `python -m <module>` commands only "
                         f"(command is {command!r}); use --runtime compose")
    args, rest = [], iter(command[3:])
    for part in rest:
        if part in ("--host", "--port", "--metrics-port"):
            next(rest, None)  # drop the flag's value too
        else:
            args.append(part)
    return [sys.executable, "-m", command[2], *args, "--host", "127.0.0.1", "--port", str(http),
            "--metrics-port", str(metrics)]


def alertmanager_native_config(spec: Spec, webhook_url: str) -> dict[str, Any]:
    """The spec's route tree and inhibitions, with every receiver delivering to the local recorder.

    Email, Slack and PagerDuty cannot deliver from here; replacing each receiver by a webhook named
    after it keeps the routing under test while recording which receiver was reached.
    """
    from stackgen.targets.alertmanager.config import config

    out = config(spec.alertmanager)
    out["global"] = {"resolve_timeout": out["global"]["resolve_timeout"]}
    out["receivers"] = [{"name": r["name"], "webhook_configs": [{"url": f"{webhook_url}/{r['name']}",
                                                                  "send_resolved": True}]}
                        for r in out["receivers"]]
    return out


def _write_configs(stack: Stack, run: Path, addr: dict[str, str], webhook_url: str, time_scale: int) -> None:
    from stackgen.targets.prometheus.config import server_config
    from stackgen.targets.prometheus.rules import rule_file_groups
    from stackgen.targets.prometheus.slo_rules import slo_rules

    spec = stack.spec
    prom_dir = run / "prometheus"
    shutil.rmtree(prom_dir / "rules", ignore_errors=True)
    for service in spec.services:
        for path, groups in rule_file_groups(stack, service).items():
            if path == names.slo_rules_file(service.name) and time_scale > 1:
                groups = slo_rules(stack.slos_of(service), time_scale)["groups"]
            target = run / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(yaml_text({"groups": groups}, names.header(stack.spec_name)))
    (prom_dir / "prometheus.yml").write_text(yaml_text(server_config(spec, addr), names.header(stack.spec_name)))
    am_dir = run / "alertmanager"
    am_dir.mkdir(parents=True, exist_ok=True)
    (am_dir / "alertmanager.yml").write_text(
        yaml_text(alertmanager_native_config(spec, webhook_url), names.header(stack.spec_name)))


# --- up / down / status -----------------------------------------------------------------------

def refuse_if_running(run: Path) -> None:
    """Raise StackError when processes of an earlier `up` from ``run`` are still alive."""
    run = run.resolve()
    existing = State.load(run)
    if existing and any(is_running(c) for c in existing.components):
        alive = ", ".join(f"{c.name} (pid {c.pid})" for c in existing.components if is_running(c))
        raise StackError(f"a stack is already running from {run}: {alive}; run `stackgen down` first")


def up(stack: Stack, run: Path, profile: str = "production", ready_timeout: float = 120.0) -> State:
    run = run.resolve()
    refuse_if_running(run)
    stack = drill_stack(stack) if profile == "drill" else stack
    spec = stack.spec
    prometheus_bin = _binary("prometheus")
    alertmanager_bin = _binary("alertmanager", "prometheus-alertmanager")
    run.mkdir(parents=True, exist_ok=True)
    log_dir = run / "logs"
    token_file = run / TOKEN_FILE
    token_file.write_text(secrets.token_urlsafe(24))
    token_file.chmod(0o600)
    notifications = run / NOTIFICATIONS_FILE
    notifications.write_text("")

    ports = {"prometheus": _free_port(), "alertmanager": _free_port(), WEBHOOK: _free_port()}
    components: list[Component] = []
    addr = {"prometheus": f"127.0.0.1:{ports['prometheus']}", "alertmanager": f"127.0.0.1:{ports['alertmanager']}"}
    for service in spec.services:
        http, metrics = _free_port(), _free_port()
        addr[service.name] = f"127.0.0.1:{metrics}"
        env = {**service.env, "FUGATTO_FAULTS_ENABLED": "true",
               names.TRACING_ENABLED_ENV: "false"}  # no trace backend runs natively
        if service.logs and service.logs.directory_env:
            env[service.logs.directory_env] = str(log_dir / service.name)
        components.append(Component(service.name, _service_argv(service, http, metrics), f"http://127.0.0.1:{http}",
                                    f"http://127.0.0.1:{http}{service.probes.readiness.path}", env))
    webhook_url = f"http://127.0.0.1:{ports[WEBHOOK]}"
    _write_configs(stack, run, addr, webhook_url, FACTOR if profile == "drill" else 1)
    components = [
        Component(WEBHOOK, [sys.executable, "-m", "stackgen.runtime.webhook", "--port", str(ports[WEBHOOK]),
                            "--out", str(notifications)], webhook_url, f"{webhook_url}/health"),
        Component("alertmanager", [alertmanager_bin, f"--config.file={run}/alertmanager/alertmanager.yml",
                                   f"--storage.path={run}/alertmanager/data",
                                   f"--web.listen-address={addr['alertmanager']}", "--cluster.listen-address=",
                                   "--log.level=warn"],
                  f"http://{addr['alertmanager']}", f"http://{addr['alertmanager']}/-/ready"),
        Component("prometheus", [prometheus_bin, f"--config.file={run}/prometheus/prometheus.yml",
                                 f"--storage.tsdb.path={run}/prometheus/data",
                                 f"--web.listen-address={addr['prometheus']}", "--log.level=warn",
                                 # Alerts raised before the Alertmanager is discovered are dropped and
                                 # resent only after this delay (default 1m); the drill cannot wait that.
                                 *(["--rules.alert.resend-delay=1s"] if profile == "drill" else [])],
                  f"http://{addr['prometheus']}", f"http://{addr['prometheus']}/-/ready"),
        *components,
    ]
    skipped = {name: f"`{binary}` is not installed (no Debian package); use --runtime compose"
               for name, binary in NOT_NATIVE.items() if shutil.which(binary) is None}
    skipped |= {name: "the native runtime starts only Prometheus, Alertmanager and the services"
                for name, binary in NOT_NATIVE.items() if name not in skipped}
    state = State(str(run), profile, components, skipped, str(notifications), str(token_file))
    try:
        for component in components:
            if component.name in {s.name for s in spec.services}:
                component.env["FUGATTO_ADMIN_TOKEN"] = token_file.read_text()
            start(component, log_dir)
            component.env.pop("FUGATTO_ADMIN_TOKEN", None)  # never written to state.json
            state.save()
        for component in components:
            wait_healthy(component, ready_timeout, log_dir)
        _wait_for_targets(state, spec, ready_timeout)
    except BaseException:
        down(run)
        raise
    return state


def _wait_for_targets(state: State, spec: Spec, timeout: float) -> None:
    """Prometheus discovers static targets and Alertmanagers a few seconds after start: poll until
    every job is up and the Alertmanager is known (alerts raised before that are not delivered)."""
    base = state.component("prometheus").url
    jobs = {names.job_name(s.name) for s in spec.services} | {"prometheus", "alertmanager"}
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    alertmanagers: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/targets?state=active", timeout=2) as response:
                seen = {t["labels"]["job"]: t["health"] for t in json.load(response)["data"]["activeTargets"]}
            with urllib.request.urlopen(f"{base}/api/v1/alertmanagers", timeout=2) as response:
                alertmanagers = json.load(response)["data"]["activeAlertmanagers"]
            if all(seen.get(job) == "up" for job in jobs) and alertmanagers:
                return
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    raise StackError(f"Prometheus did not see every target up and an Alertmanager within {timeout:.0f}s: "
                     f"targets {seen}, alertmanagers {alertmanagers}")


def restart(state: State, name: str) -> None:
    """Start a stopped component again with its recorded command (the drill brings the service back)."""
    component = state.component(name)
    token = Path(state.admin_token_file).read_text()
    component.env["FUGATTO_ADMIN_TOKEN"] = token
    start(component, Path(state.run_dir) / "logs")
    component.env.pop("FUGATTO_ADMIN_TOKEN", None)
    state.save()


def down(run: Path) -> list[str]:
    """Stop what `up` started in this run directory; return the names that were running."""
    state = State.load(run.resolve())
    if state is None:
        return []
    stopped = [c.name for c in reversed(state.components) if stop(c)]
    (Path(state.run_dir) / STATE_FILE).unlink(missing_ok=True)
    return stopped


def status(run: Path) -> list[tuple[str, str, str]]:
    """(component, status, url) for every component; status is healthy, unhealthy, stopped or skipped."""
    state = State.load(run.resolve())
    if state is None:
        raise StackError(f"no stack is running from {run} (start one with `stackgen up`)")
    rows = []
    for component in state.components:
        if not is_running(component):
            rows.append((component.name, "stopped", component.url))
        else:
            rows.append((component.name, "healthy" if healthy(component) else "unhealthy", component.url))
    rows += [(name, "skipped", reason) for name, reason in sorted(state.skipped.items())]
    return rows
