"""The compose stack: compose-spec schema, and the references a schema cannot see.

Every bind mount must name a file or folder the render produced; every image is pinned; published
ports bind to loopback; secrets come from the git-ignored secrets/ folder, never from generated/;
`service_healthy` dependencies have a health check; the Prometheus config the stack mounts
scrapes each target by a compose service name and a port that service listens on; and Logstash
mounts each service's log volume at the folder the generated pipeline tails.
"""

from __future__ import annotations

import json
import posixpath
from functools import cache
from pathlib import Path
from typing import Any

from stackgen.checks import fast_yaml, json_schema
from stackgen.checks.tools import ToolMissing, find_python_data, missing_finding
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.parsers.logstash_grammar import LogstashSyntaxError, file_input_paths, parse
from stackgen.resolve import Stack
from stackgen.spec.server import image_problem

FILE = names.COMPOSE_FILE
# references() looks outside the rendered tree (secrets/, build contexts): `stackgen check` never skips it.
CACHEABLE = False
COMPOSE_SPEC = "builtin_schemas/vendor/compose-spec.json"


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    path = root / FILE
    if not path.exists():
        return [Diagnostic(FILE, rule="compose", message="the compose file was not rendered")]
    compose = fast_yaml.load(path.read_text(encoding="utf-8"))
    findings = _schema(compose)
    findings += [Diagnostic(FILE, rule="compose", message=message) for message in references(root, compose, stack.out_to_spec)]
    findings += [Diagnostic(FILE, rule="compose", message=message) for message in log_mounts(root, compose, stack)]
    return findings


def _schema(compose: Any) -> list[Diagnostic]:
    """The compose-spec schema check-jsonschema vendors (`--builtin-schema vendor.compose-spec`), applied in process."""
    try:
        schema = find_python_data("check_jsonschema", COMPOSE_SPEC, "check-jsonschema")
    except ToolMissing as exc:
        return [missing_finding(exc, FILE)]
    if problems := json_schema.problems(_validator(schema), compose):
        return [Diagnostic(FILE, rule="compose-spec schema (check-jsonschema's vendor.compose-spec)",
                           message="\n".join(problems))]
    return []


@cache
def _validator(schema: Path) -> Any:
    return json_schema.validator(json.loads(schema.read_text(encoding="utf-8")))


def references(root: Path, compose: dict[str, Any], out_to_spec: str = "..") -> list[str]:
    """Problems in what the compose file points at, each naming the service and the reference; `out_to_spec`
    is the spec's folder seen from `root`, which holds secrets/."""
    problems: list[str] = []
    services: dict[str, Any] = compose.get("services", {})
    compose_dir = posixpath.dirname(FILE)
    generated = Path(root).resolve()
    for name, svc in sorted(services.items()):
        if "image" not in svc:
            problems.append(f"service {name!r} has no image")
        elif problem := image_problem(svc["image"]):
            problems.append(f"service {name!r}: {problem}")
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")):
                if source not in compose.get("volumes", {}):
                    problems.append(f"service {name!r} mounts volume {source!r}, which is not declared")
                continue
            target = (generated / compose_dir / source).resolve()
            if not target.is_relative_to(generated):
                problems.append(f"service {name!r} mounts {source!r}, which is outside generated/")
            elif not target.exists():
                problems.append(
                    f"service {name!r} mounts {source!r}, which does not exist in generated/ "
                    f"({target.relative_to(generated).as_posix()})"
                )
            elif not volume.endswith(":ro"):
                problems.append(f"service {name!r} mounts config {source!r} writable: add ':ro'")
        for port in svc.get("ports", []):
            if not str(port).startswith("127."):
                problems.append(
                    f"service {name!r} publishes {port!r} on all interfaces: bind it to 127.0.0.1"
                )
        for dependency, condition in sorted(svc.get("depends_on", {}).items()):
            if dependency not in services:
                problems.append(f"service {name!r} depends on {dependency!r}, which is not a service")
            elif (
                condition.get("condition") == "service_healthy" and "healthcheck" not in services[dependency]
            ):
                problems.append(
                    f"service {name!r} waits for {dependency!r} to be healthy, but it has no healthcheck"
                )
        for secret in svc.get("secrets", []):
            if secret["source"] not in compose.get("secrets", {}):
                problems.append(f"service {name!r} uses secret {secret['source']!r}, which is not declared")
    secrets_dir = (generated / out_to_spec / names.SECRETS_DIR).resolve()
    for secret, spec in sorted(compose.get("secrets", {}).items()):
        source = (generated / compose_dir / spec.get("file", "")).resolve()
        if "file" not in spec or source.parent != secrets_dir:
            problems.append(
                f"secret {secret!r} must be read from a file in the git-ignored "
                f"{names.SECRETS_DIR}/ folder, not {spec.get('file')!r}"
            )
    problems += scrape_targets(root, services)
    return problems


def scrape_targets(root: Path, services: dict[str, Any]) -> list[str]:
    """The Prometheus config the stack mounts must scrape compose service names on ports they listen on."""
    mounted = [
        v.split(":")[0]
        for svc in services.values()
        for v in svc.get("volumes", [])
        if v.split(":")[1:2] == [names.PROMETHEUS_CONFIG_MOUNT]
    ]
    if not mounted:
        return [f"no service mounts the Prometheus config at {names.PROMETHEUS_CONFIG_MOUNT}"]
    config_path = (Path(root) / posixpath.dirname(FILE) / mounted[0]).resolve()
    if not config_path.exists():
        return []  # reported as a missing mount
    config = fast_yaml.load(config_path.read_text(encoding="utf-8"))
    problems = []
    for job in config.get("scrape_configs", []):
        for static in job.get("static_configs", []):
            for target in static.get("targets", []):
                host, _, port = target.rpartition(":")
                svc = services.get(host)
                if svc is None:
                    problems.append(
                        f"scrape job {job['job_name']!r} targets {target!r}, but {host!r} is not a "
                        "compose service"
                    )
                    continue
                listening = {str(p).rsplit(":", 1)[-1] for p in svc.get("ports", [])} | {
                    str(p) for p in svc.get("expose", [])
                }
                if port not in listening:
                    problems.append(
                        f"scrape job {job['job_name']!r} targets {target!r}, but service {host!r} "
                        f"does not listen on port {port} (ports: {', '.join(sorted(listening))})"
                    )
    return problems


def _mounts(svc: dict[str, Any]) -> dict[str, str]:
    """A compose service's named-volume mounts: volume -> folder in the container."""
    out = {}
    for volume in svc.get("volumes", []):
        source, _, rest = volume.partition(":")
        if not source.startswith((".", "/")):
            out[source] = rest.split(":", 1)[0]
    return out


def log_mounts(root: Path, compose: dict[str, Any], stack: Stack) -> list[str]:
    """Each service's log volume, mounted at its log folder, is mounted into Logstash at the folder the
    generated pipeline tails (<log_mount>/<service>/<file>); otherwise Logstash silently ships nothing."""
    logging = stack.spec.logging
    shipped = [s for s in stack.spec.services if s.logs is not None]
    if logging.input != "file" or not shipped:
        return []
    services: dict[str, Any] = compose.get("services", {})
    logstash = services.get(logging.logstash.host)
    if logstash is None:
        return [f"no Logstash service {logging.logstash.host!r} to ship the logs of {shipped[0].name!r}"]
    pipeline = Path(root) / names.LOGSTASH_PIPELINE
    try:
        tailed = file_input_paths(parse(pipeline.read_text(encoding="utf-8")))
    except (OSError, LogstashSyntaxError):
        return []  # a missing or broken pipeline is the logstash check's finding
    logstash_mounts = _mounts(logstash)
    problems = []
    for service in shipped:
        logs = service.logs
        assert logs is not None
        writer = services.get(service.name, {})
        volume = next((v for v, folder in _mounts(writer).items() if folder == logs.directory), None)
        if volume is None:
            problems.append(
                f"service {service.name!r} mounts no volume at its log folder {logs.directory!r}, "
                "so Logstash cannot read its log"
            )
            continue
        folder = logstash_mounts.get(volume)
        if folder is None:
            problems.append(
                f"service {service.name!r} writes its log to volume {volume!r}, which Logstash does not mount"
            )
            continue
        expected = posixpath.join(folder, logs.file)
        if expected not in tailed:
            problems.append(
                f"service {service.name!r}: Logstash mounts its log volume {volume!r} at {folder!r}, but the "
                f"pipeline tails {', '.join(map(repr, tailed)) or 'nothing'}, not {expected!r}"
            )
    return problems
