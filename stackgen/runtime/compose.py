"""The compose runtime: `docker compose` over generated/compose/docker-compose.yml.

The Docker SDK answers whether an engine is reachable (and reports container health); the compose
CLI plugin does the orchestration, exactly as a user would run it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from stackgen.model import names
from stackgen.runtime.native import StackError

PROJECT_LABEL = "com.docker.compose.project"


def engine_problem() -> str | None:
    """None when a Docker engine answers and `docker compose` exists, else why not."""
    try:
        import docker
    except ImportError:
        return "the Docker SDK is not installed (pip install docker)"
    try:
        client = docker.from_env(timeout=3)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - the SDK raises many kinds; all mean "no engine"
        return f"no Docker engine is reachable ({exc.__class__.__name__}: {str(exc)[:160]})"
    if shutil.which("docker") is None:
        return "the docker CLI is not installed"
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        return "the `docker compose` plugin is not installed"
    return None


def _compose(out: Path, *args: str) -> None:
    problem = engine_problem()
    if problem:
        raise StackError(f"{problem}: use --runtime native")
    result = subprocess.run(["docker", "compose", "-f", str(out / names.COMPOSE_FILE), *args], check=False)
    if result.returncode != 0:
        raise StackError(f"docker compose {' '.join(args)} failed with exit code {result.returncode}")


def up(out: Path, profiles: list[str]) -> None:
    _compose(out, *[f"--profile={p}" for p in profiles], "up", "--detach", "--wait")


def down(out: Path) -> None:
    _compose(out, "--profile=all", "down")


def status(project: str) -> list[tuple[str, str, str]]:
    problem = engine_problem()
    if problem:
        raise StackError(f"{problem}: use --runtime native")
    import docker

    client = docker.from_env(timeout=5)
    rows = []
    for container in client.containers.list(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
        health = container.attrs.get("State", {}).get("Health", {}).get("Status")
        rows.append((container.name, health or container.status, container.image.tags[0] if container.image.tags else ""))
    return sorted(rows)
