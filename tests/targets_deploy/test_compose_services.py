"""Compose for services other than the bundled one: their health checks, and paths for any --out."""

from __future__ import annotations

import posixpath
from pathlib import Path

import yaml
from typer.testing import CliRunner

from stackgen.checks import compose as compose_check
from stackgen.cli import app
from stackgen.model import names
from stackgen.resolve import load_stack
from stackgen.targets.compose import _after

BASE = Path(__file__).resolve().parents[1] / "bad_specs" / "base.yaml.txt"


def _spec(tmp_path: Path, service_lines: str) -> Path:
    """The bad_specs base (a non-Python `example/api` image) with lines added to its service."""
    text = BASE.read_text().replace(
        "    ports: {http: 8080, metrics: 9100}\n", f"    ports: {{http: 8080, metrics: 9100}}\n{service_lines}", 1
    )
    folder = tmp_path / "spec"
    folder.mkdir(exist_ok=True)
    (folder / "stack.yaml").write_text(text)
    return folder / "stack.yaml"


def _render(spec: Path, out: Path) -> dict:
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return yaml.safe_load((out / names.COMPOSE_FILE).read_text())


def test_an_image_not_known_to_have_python_gets_no_python_probe(tmp_path):
    svc = _render(_spec(tmp_path, ""), tmp_path / "out")["services"]["api"]
    assert "healthcheck" not in svc


def test_exec_and_http_health_checks_use_what_the_image_declares(tmp_path):
    spec = _spec(tmp_path, "    healthcheck: {kind: exec, command: [/app/healthcheck, --quick]}\n")
    svc = _render(spec, tmp_path / "exec")["services"]["api"]
    assert svc["healthcheck"]["test"] == ["CMD", "/app/healthcheck", "--quick"]
    spec = _spec(tmp_path, "    healthcheck: {kind: http, tool: wget}\n")
    svc = _render(spec, tmp_path / "wget")["services"]["api"]
    assert svc["healthcheck"]["test"] == ["CMD", "wget", "-q", "--spider", "http://127.0.0.1:8080/health"]
    spec = _spec(tmp_path, "    healthcheck: {kind: none}\n    build: {context: ., dockerfile: service/Dockerfile}\n")
    assert "healthcheck" not in _render(spec, tmp_path / "none")["services"]["api"]


def test_the_bundled_service_keeps_its_python_probe():
    stack = load_stack(Path(__file__).resolve().parents[2] / "stack.yaml")
    from stackgen.model.deploy import service_healthcheck

    check = service_healthcheck(stack.spec.services[0])
    assert (check.kind, check.tool) == ("http", "python")


def test_depends_on_waits_for_health_only_where_there_is_a_health_check():
    services = {"a": {"healthcheck": {"test": ["CMD", "true"]}}, "b": {}}
    assert _after(services, "a", "b") == {
        "a": {"condition": "service_healthy"},
        "b": {"condition": "service_started"},
    }


def test_paths_resolve_from_an_out_folder_outside_the_spec_folder(tmp_path):
    spec = _spec(
        tmp_path,
        "    build: {context: api-src}\n    secret_env:\n      API_DB_PASSWORD: {file: /run/secrets/db-password}\n",
    )
    out = tmp_path / "elsewhere" / "out"
    compose = _render(spec, out)
    compose_dir = out / posixpath.dirname(names.COMPOSE_FILE)
    build = compose["services"]["api"]["build"]
    assert (compose_dir / build["context"]).resolve() == (spec.parent / "api-src").resolve()
    # A context of its own holds its own Dockerfile, not the bundled service's.
    assert build["dockerfile"] == "Dockerfile"
    for name in ("db-password", "slack-url"):
        source = compose["secrets"][name]["file"]
        assert (compose_dir / source).resolve() == (spec.parent / "secrets" / name).resolve()
    stack = load_stack(spec, out)
    assert compose_check.references(out, compose, stack.out_to_spec) == []


def test_default_out_is_generated_beside_the_spec(tmp_path):
    spec = _spec(tmp_path, "")
    assert load_stack(spec).out_to_spec == load_stack(spec, spec.parent / "generated").out_to_spec == ".."
