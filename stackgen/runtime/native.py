"""The native local stack: the bundled service, Prometheus, Alertmanager and a recording webhook
receiver as processes on 127.0.0.1, with configs rendered for localhost into a run directory.

`up` starts from empty Prometheus and Alertmanager data (unless asked to keep it) and records what
it started in <run>/state.json (command lines, ports, URLs) and one pid file per component in
<run>/pids/. A component is found by what it is: the pid in its pid file while that process still
runs the recorded command (pids are reused), else the process listening on its port when that
process runs the same program - so one restarted by hand is still reported and stopped. `down`
stops exactly those; `restart` stops and starts one or all with their recorded commands. Ports are
picked free at `up`, so a developer's own Prometheus on 9090 and a CI job can coexist.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from stackgen.model import names
from stackgen.model.routing import receivers_for
from stackgen.output.serialize import yaml_text
from stackgen.resolve import Stack
from stackgen.runtime import ha
from stackgen.runtime.ports import free_port
from stackgen.runtime.profile import FACTOR, drill_stack
from stackgen.spec.alerts import WatchdogAlert
from stackgen.spec.models import Spec
from stackgen.spec.service import Service

STATE_FILE = "state.json"
TOKEN_FILE = "admin-token"
NOTIFICATIONS_FILE = "notifications.jsonl"
NOTIFICATIONS_KEPT = 5  # earlier runs' notifications files kept as notifications.1.jsonl ... .5.jsonl
PID_DIR = "pids"
DATA_DIRS = ("prometheus/data", "alertmanager/data")
# Each component's captured output: rotated at LOG_MAX_BYTES, LOG_BACKUPS old files kept (stackgen.runtime.logcap).
LOG_MAX_BYTES = 5_000_000
LOG_BACKUPS = 2
WEBHOOK = "webhook-receiver"
CORE = ("prometheus", "alertmanager", WEBHOOK)  # the alerting path the drill needs healthy first
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
    pid: int = 0  # as last started by stackgen; the pid file is what status/down read
    port: int = 0  # the port it listens on: how it is found when its pid file is stale
    metrics_url: str = ""
    admin_token: bool = False  # started with FUGATTO_ADMIN_TOKEN from the token file (never stored here)


@dataclass
class State:
    run_dir: str
    profile: str
    components: list[Component]
    skipped: dict[str, str]
    notifications: str
    admin_token_file: str

    def component(self, name: str) -> Component:
        found = next((c for c in self.components if c.name == name), None)
        if found is None:
            raise StackError(f"no component named {name!r}; the stack has {', '.join(c.name for c in self.components)}")
        return found

    @property
    def run(self) -> Path:
        return Path(self.run_dir)

    def save(self) -> None:
        path = self.run / STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, run_dir: Path) -> State | None:
        path = run_dir / STATE_FILE
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        data["components"] = [Component(**c) for c in data["components"]]
        return cls(**data)


# --- finding processes ------------------------------------------------------------------------

def _cmdline(pid: int) -> list[str] | None:
    """The process's command line; None when it is gone or a zombie (nothing left to stop)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None


def _program(argv: list[str]) -> tuple[str, ...]:
    """What a command runs, whatever its flags: `python -m module` by module, anything else by executable name."""
    if len(argv) >= 3 and argv[1] == "-m" and Path(argv[0]).name.startswith("python"):
        return ("python -m", argv[2])
    return (Path(argv[0]).name,)


def listeners(port: int) -> list[int]:
    """Pids of the processes holding a listening TCP socket on `port` (Linux /proc), lowest first."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    pids = set()
    if inodes:
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                    pids.add(int(proc.name))
            except OSError:
                continue
    return sorted(pids)


def _pid_file(run: Path, name: str, suffix: str = "pid") -> Path:
    return run / PID_DIR / f"{name}.{suffix}"


def _read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return 0


@dataclass
class Found:
    pid: int
    how: str  # "pid file" or "port"


def locate(run: Path, component: Component) -> Found | None:
    """The running process of a component: its pid file's, or the one listening on its port."""
    pid = _read_pid(_pid_file(run, component.name)) or component.pid
    if pid > 0 and _cmdline(pid) == component.argv:
        return Found(pid, "pid file")
    if component.port:
        for candidate in listeners(component.port):
            cmdline = _cmdline(candidate)
            if cmdline and _program(cmdline) == _program(component.argv):
                return Found(candidate, "port")
    return None


def is_running(state: State, component: Component) -> bool:
    return locate(state.run, component) is not None


def healthy(component: Component, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(component.health, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


# --- starting and stopping --------------------------------------------------------------------

def start(state: State, component: Component) -> None:
    """Start the component with its recorded command, its output through a capped log (logcap)."""
    run = state.run
    log = run / "logs" / f"{component.name}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    (run / PID_DIR).mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **component.env}
    if component.admin_token:
        env["FUGATTO_ADMIN_TOKEN"] = Path(state.admin_token_file).read_text()
    relay = subprocess.Popen([sys.executable, "-m", "stackgen.runtime.logcap", "--max-bytes", str(LOG_MAX_BYTES),
                              "--backups", str(LOG_BACKUPS), str(log)],
                             stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    assert relay.stdin is not None
    try:
        process = subprocess.Popen(component.argv, stdout=relay.stdin, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    except OSError as exc:
        relay.stdin.close()
        raise StackError(f"{component.name}: cannot run {component.argv[0]}: {exc.strerror or exc}") from None
    relay.stdin.close()  # the component holds the pipe now; the relay ends when it does
    component.pid = process.pid
    _pid_file(run, component.name).write_text(f"{process.pid}\n")
    _pid_file(run, component.name, "log.pid").write_text(f"{relay.pid}\n")
    state.save()


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reap it when it is our child (the drill restarts the service itself)
    except ChildProcessError:
        pass
    return _cmdline(pid) is None


def _signal(pid: int, sig: signal.Signals, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _terminate(pid: int, group: bool, grace: float) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds."""
    _signal(pid, signal.SIGTERM, group)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if _gone(pid):
            return
        time.sleep(0.05)
    _signal(pid, signal.SIGKILL, group)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not _gone(pid):
        time.sleep(0.05)


def stop(state: State, component: Component, grace: float = 10.0) -> Found | None:
    """Stop the component wherever it is found; return how it was found, None when it was not running.

    A process stackgen started leads its own process group and the whole group is stopped; one found
    by its port (started by hand) gets the signal alone, since its group may be the user's shell job."""
    found = locate(state.run, component)
    if found is not None:
        group = found.how == "pid file" and _pgid(found.pid) == found.pid
        _terminate(found.pid, group, grace)
    relay_file = _pid_file(state.run, component.name, "log.pid")
    relay = _read_pid(relay_file)
    if relay:
        # The relay ends when the component's output closes; a grandchild still holding it is stopped above.
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not _gone(relay):
            time.sleep(0.05)
        cmdline = _cmdline(relay)
        if cmdline and "stackgen.runtime.logcap" in cmdline:
            _terminate(relay, False, 0)
        relay_file.unlink(missing_ok=True)
    _pid_file(state.run, component.name).unlink(missing_ok=True)
    return found


def _pgid(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return 0


def wait_healthy(state: State, component: Component, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    gone, missed = None, 0
    while time.monotonic() < deadline:
        if healthy(component, timeout=1.0):
            return
        # Twice in a row: one read of /proc while the process starts is not proof that it exited.
        missed = 0 if is_running(state, component) else missed + 1
        if missed == 2:
            gone = f"exited (process {component.pid}: {' '.join(_cmdline(component.pid) or ['gone'])})"
            break
        time.sleep(0.2)
    tail = _tail(state.run / "logs" / f"{component.name}.log")
    condition = gone or f"not healthy after {timeout:.0f}s"
    raise StackError(f"{component.name} {condition} ({component.health}); last log lines:\n{tail}")


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


def watchdog_receivers(spec: Spec) -> set[str]:
    """Receivers the route tree sends dead man's switch alerts to."""
    from stackgen.model.promql import alert_labels

    return {receiver for service in spec.services for alert in service.alerts if isinstance(alert, WatchdogAlert)
            for receiver in receivers_for(spec.alertmanager.route, {"alertname": alert.name,
                                                                     **alert_labels(service, alert)})}


def alertmanager_native_config(spec: Spec, webhook_url: str) -> dict[str, Any]:
    """The spec's route tree and inhibitions, with every receiver delivering to the local recorder.

    Email, Slack and PagerDuty cannot deliver from here; replacing each receiver by a webhook named
    after it keeps the routing under test while recording which receiver was reached. Receivers
    send resolved notifications (the drill times them), except the dead man's switch's: a dying
    Prometheus would send one last "resolved" that a heartbeat service counts as a check-in.
    """
    from stackgen.targets.alertmanager.config import config

    out = config(spec.alertmanager)
    heartbeat = watchdog_receivers(spec)
    out["global"] = {"resolve_timeout": out["global"]["resolve_timeout"]}
    out["receivers"] = [{"name": r["name"], "webhook_configs": [{"url": f"{webhook_url}/{r['name']}",
                                                                  "send_resolved": r["name"] not in heartbeat}]}
                        for r in out["receivers"]]
    return out


def _write_configs(stack: Stack, run: Path, addr: dict[str, str], webhook_url: str, time_scale: int,
                   replicas: list[tuple[str, str, str]] | None = None, alertmanagers: list[str] | None = None,
                   remote_write_url: str = "") -> None:
    """The configs of a run; with `replicas` (name, address, replica label value) also one
    prometheus/<name>.yml per HA replica, sending to every one of `alertmanagers`."""
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
    for name, own, value in replicas or []:
        config = ha.replica_config(server_config(spec, {**addr, "prometheus": own}), spec.prometheus.replica_label,
                                   value, alertmanagers, remote_write_url)
        (prom_dir / f"{name}.yml").write_text(yaml_text(config, names.header(stack.spec_name)))
    am_dir = run / "alertmanager"
    am_dir.mkdir(parents=True, exist_ok=True)
    (am_dir / "alertmanager.yml").write_text(
        yaml_text(alertmanager_native_config(spec, webhook_url), names.header(stack.spec_name)))


# --- up / down / status / restart -------------------------------------------------------------

def refuse_if_running(run: Path) -> None:
    """Raise StackError when a component of an earlier `up` from ``run`` is still running."""
    run = run.resolve()
    existing = State.load(run)
    if existing:
        alive = [(c.name, found.pid) for c in existing.components if (found := locate(run, c))]
        if alive:
            raise StackError(f"a stack is already running from {run}: "
                             f"{', '.join(f'{name} (pid {pid})' for name, pid in alive)}; "
                             f"run `stackgen down` first, or `stackgen restart` to restart it")


def _rotate_notifications(path: Path) -> None:
    """The previous run's notifications are evidence: keep them as notifications.1.jsonl and so on."""
    if not path.exists() or path.stat().st_size == 0:
        return
    stem, suffix = path.name.split(".", 1)
    kept = [path.with_name(f"{stem}.{i}.{suffix}") for i in range(1, NOTIFICATIONS_KEPT + 1)]
    kept[-1].unlink(missing_ok=True)
    for older, newer in zip(reversed(kept[1:]), reversed(kept[:-1]), strict=True):
        if newer.exists():
            newer.replace(older)
    path.replace(kept[0])


def up(stack: Stack, run: Path, profile: str = "production", ready_timeout: float = 120.0,
       keep_data: bool = False) -> State:
    """Start the stack. Prometheus's TSDB and Alertmanager's notification log and silences start
    empty unless keep_data: an earlier run's series fire alerts at once, and its notification log
    suppresses the next run's notifications."""
    run = run.resolve()
    refuse_if_running(run)
    highly_available = profile == ha.PROFILE
    stack = drill_stack(stack) if profile in ("drill", ha.PROFILE) else stack
    spec = stack.spec
    prometheus_bin = _binary("prometheus")
    alertmanager_bin = _binary("alertmanager", "prometheus-alertmanager")
    vm_bin = _binary(ha.VM) if highly_available else ""
    proms = ha.prometheus_names(spec) if highly_available else ["prometheus"]
    ams = ha.alertmanager_names(spec) if highly_available else ["alertmanager"]
    run.mkdir(parents=True, exist_ok=True)
    if not keep_data:
        extra = [f"{name}/data" for name in [*proms[1:], *ams[1:], ha.VM]] if highly_available else []
        for data in [*DATA_DIRS, *extra]:
            shutil.rmtree(run / data, ignore_errors=True)
    shutil.rmtree(run / PID_DIR, ignore_errors=True)
    log_dir = run / "logs"
    token_file = run / TOKEN_FILE
    token_file.write_text(secrets.token_urlsafe(24))
    token_file.chmod(0o600)
    notifications = run / NOTIFICATIONS_FILE
    _rotate_notifications(notifications)
    notifications.write_text("")

    ports = {name: free_port() for name in [*proms, *ams, WEBHOOK, *([ha.VM] if highly_available else [])]}
    gossip = {name: f"127.0.0.1:{free_port()}" for name in ams} if highly_available else {}
    services: list[Component] = []
    addr = {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    for service in spec.services:
        http, metrics = free_port(), free_port()
        addr[service.name] = f"127.0.0.1:{metrics}"
        env = {**service.env, "FUGATTO_FAULTS_ENABLED": "true",
               names.TRACING_ENABLED_ENV: "false"}  # no trace backend runs natively
        if service.logs and service.logs.directory_env:
            env[service.logs.directory_env] = str(log_dir / service.name)
        services.append(Component(service.name, _service_argv(service, http, metrics), f"http://127.0.0.1:{http}",
                                  f"http://127.0.0.1:{http}{service.probes.readiness.path}", env, port=http,
                                  metrics_url=f"http://127.0.0.1:{metrics}/metrics", admin_token=True))
    webhook_url = f"http://127.0.0.1:{ports[WEBHOOK]}"
    vm_url = f"http://{addr[ha.VM]}" if highly_available else ""
    replicas = [(name, addr[name], ha.replica_value(i)) for i, name in enumerate(proms)] if highly_available else []
    _write_configs(stack, run, addr, webhook_url, FACTOR if profile in ("drill", ha.PROFILE) else 1, replicas,
                   [addr[name] for name in ams], f"{vm_url}/api/v1/write")

    def alertmanager(name: str) -> Component:
        url = f"http://{addr[name]}"
        cluster = ha.alertmanager_cluster_args(gossip[name], list(gossip.values())) if gossip else ["--cluster.listen-address="]
        return Component(name, [alertmanager_bin, f"--config.file={run}/alertmanager/alertmanager.yml",
                                f"--storage.path={run}/{name}/data", f"--web.listen-address={addr[name]}",
                                # Links in notifications: the address it listens on, not this host's name.
                                f"--web.external-url={url}/", *cluster, "--log.level=warn"],
                         url, f"{url}/-/ready", port=ports[name])

    def prometheus(name: str) -> Component:
        url = f"http://{addr[name]}"
        config = f"{run}/prometheus/{name}.yml" if highly_available else f"{run}/prometheus/prometheus.yml"
        return Component(name, [prometheus_bin, f"--config.file={config}", f"--storage.tsdb.path={run}/{name}/data",
                                f"--web.listen-address={addr[name]}", f"--web.external-url={url}/", "--log.level=warn",
                                # Alerts raised before the Alertmanager is discovered are dropped and
                                # resent only after this delay (default 1m); the drill cannot wait that.
                                *(["--rules.alert.resend-delay=1s"] if profile in ("drill", ha.PROFILE) else [])],
                         url, f"{url}/-/ready", port=ports[name])

    store = [Component(ha.VM, ha.victoria_argv(vm_bin, addr[ha.VM], f"{run}/{ha.VM}/data",
                                               spec.prometheus.scrape_interval.seconds),
                       vm_url, f"{vm_url}/health", port=ports[ha.VM])] if highly_available else []
    components = [
        Component(WEBHOOK, [sys.executable, "-m", "stackgen.runtime.webhook", "--port", str(ports[WEBHOOK]),
                            "--out", str(notifications)], webhook_url, f"{webhook_url}/health", port=ports[WEBHOOK]),
        *[alertmanager(name) for name in ams],
        *store,
        # ha: the services before Prometheus, so no replica scrapes one still starting: a ServiceDown
        # raised by that, resolved while the peers wait their turn, is notified twice (see chaos.hold_s).
        *(services if highly_available else []),
        *[prometheus(name) for name in proms],
        *([] if highly_available else services),
    ]
    skipped = {name: f"`{binary}` is not installed (no Debian package); use --runtime compose"
               for name, binary in NOT_NATIVE.items() if shutil.which(binary) is None}
    skipped |= {name: "the native runtime starts only Prometheus, Alertmanager and the services"
                for name, binary in NOT_NATIVE.items() if name not in skipped}
    state = State(str(run), profile, components, skipped, str(notifications), str(token_file))
    state.save()  # before any start: `down` finds whatever did start, even if `up` fails half way
    try:
        for component in components:
            start(state, component)
            if highly_available:
                # One by one: the peers settle into a cluster before any alert arrives (each peer times
                # its notification groups from an alert's arrival, and peers whose groups tick apart
                # defeat the cluster's deduplication: ha.PEER_TIMEOUT), and no replica sees a service
                # that is still starting.
                wait_healthy(state, component, ready_timeout)
        for component in components:
            wait_healthy(state, component, ready_timeout)
        _wait_for_targets(state, ready_timeout)
    except BaseException:
        down(run)
        raise
    return state


def _prometheus_servers(state: State) -> list[Component]:
    """`prometheus` and, in the ha profile, its replicas."""
    return [c for c in state.components if c.name == "prometheus" or c.name.startswith("prometheus-")]


def _wait_for_targets(state: State, timeout: float, servers: list[Component] | None = None) -> None:
    """Prometheus discovers static targets and Alertmanagers a few seconds after start: poll until
    every job is up and every Alertmanager is known (alerts raised before that are not delivered)."""
    for server in servers if servers is not None else _prometheus_servers(state):
        _wait_for_targets_of(state, server.url, timeout)


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.load(response)["data"]


def _instant(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)  # RFC 3339; Python keeps microseconds of Prometheus's nanoseconds


def _wait_for_targets_of(state: State, base: str, timeout: float) -> None:
    peers = sum(1 for c in state.components if c.name == "alertmanager" or c.name.startswith("alertmanager-"))
    jobs = {names.job_name(c.name) for c in state.components if c.metrics_url} | {"prometheus", "alertmanager"}
    deadline = time.monotonic() + timeout
    seen: dict[str, str] = {}
    alertmanagers: list[dict[str, str]] = []
    scraped: datetime | None = None  # when the last target was scraped, once every target is up
    while time.monotonic() < deadline:
        try:
            if scraped is None:
                targets = _get(f"{base}/api/v1/targets?state=active")["activeTargets"]
                seen = {t["labels"]["job"]: t["health"] for t in targets}
                alertmanagers = _get(f"{base}/api/v1/alertmanagers")["activeAlertmanagers"]
                if all(seen.get(job) == "up" for job in jobs) and len(alertmanagers) >= peers:
                    scraped = max(_instant(t["lastScrape"]) for t in targets)
            # A service scraped while it was still starting leaves an alert such as ServiceDown pending
            # until the alert rules are evaluated again: wait for that evaluation, so the stack `up`
            # hands over is quiet (a drill refuses to start over a pending alert it would fire).
            if scraped is not None and all(_instant(g["lastEvaluation"]) > scraped
                                           for g in _get(f"{base}/api/v1/rules?type=alert")["groups"]):
                return
        except (urllib.error.URLError, OSError, KeyError, ValueError):
            pass
        time.sleep(0.5)
    if scraped is not None:
        raise StackError(f"Prometheus at {base} saw every target up but did not evaluate its alert rules again "
                         f"within {timeout:.0f}s")
    raise StackError(f"Prometheus at {base} did not see every target up and {peers} Alertmanager(s) within {timeout:.0f}s: "
                     f"targets {seen}, alertmanagers {alertmanagers}")


def _loaded(run: Path) -> State:
    state = State.load(run.resolve())
    if state is None:
        raise StackError(f"no stack was started from {run} (start one with `stackgen up`)")
    return state


def restart(run: Path, name: str | None = None, ready_timeout: float = 120.0) -> list[Component]:
    """Stop and start one component (or all, in start order) with its recorded command, port and data;
    wait until it is healthy and every running Prometheus sees its targets again, as `up` does (a
    restarted service leaves ServiceDown pending until the rules are evaluated with it up)."""
    state = _loaded(run)
    chosen = [state.component(name)] if name else state.components
    for component in reversed(chosen):
        stop(state, component)
    for component in chosen:
        start(state, component)
    for component in chosen:
        wait_healthy(state, component, ready_timeout)
    servers = [c for c in _prometheus_servers(state) if c in chosen or is_running(state, c)]
    _wait_for_targets(state, ready_timeout, servers)
    return chosen


def down(run: Path) -> list[str]:
    """Stop every component of the stack in this run directory, found by pid file or port; return
    the names that were running. Raise when something still listens on a component's port."""
    state = State.load(run.resolve())
    if state is None:
        return []
    stopped = [c.name for c in reversed(state.components) if stop(state, c)]
    left = [f"{c.name}'s port {c.port} (pid {', '.join(map(str, pids))})"
            for c in state.components if c.port and (pids := listeners(c.port))]
    (state.run / STATE_FILE).unlink(missing_ok=True)
    shutil.rmtree(state.run / PID_DIR, ignore_errors=True)
    if left:
        raise StackError(f"stopped {', '.join(stopped) or 'nothing'}, but another program still listens on "
                         f"{'; '.join(left)}: it is not this stack's, so it was left alone")
    return stopped


@dataclass
class Row:
    name: str
    health: str  # healthy, unhealthy, stopped or skipped
    url: str  # or the reason a component is skipped
    pid: int = 0
    found_by: str = ""
    metrics_url: str = ""


def status(run: Path) -> list[Row]:
    """One row per component: found by pid file or port, then asked its health endpoint."""
    state = _loaded(run)
    rows = []
    for component in state.components:
        found = locate(state.run, component)
        if found is None:
            rows.append(Row(component.name, "stopped", component.url, metrics_url=component.metrics_url))
        else:
            rows.append(Row(component.name, "healthy" if healthy(component) else "unhealthy", component.url,
                            found.pid, found.how, component.metrics_url))
    rows += [Row(name, "skipped", reason) for name, reason in sorted(state.skipped.items())]
    return rows


def problems(state: State, names_: tuple[str, ...] | None = None) -> list[str]:
    """Why each of these components (default: all) is not running and healthy; empty when all are."""
    found = []
    for component in state.components:
        if names_ is not None and component.name not in names_:
            continue
        if locate(state.run, component) is None:
            found.append(f"{component.name} is not running (no process from its pid file, nothing of it "
                         f"listening on port {component.port})")
        elif not healthy(component):
            found.append(f"{component.name} is running but {component.health} does not answer 200")
    return found
