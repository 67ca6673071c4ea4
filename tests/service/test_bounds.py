"""Bounds that hostile input must not break: every logged string, every route's metric label."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import replace

import pytest
from fugatto_lab import logging_setup
from fugatto_lab.app import create_app
from fugatto_lab.config import ConfigError, settings_from_env
from fugatto_lab.metrics import UNMATCHED_ENDPOINT
from fugatto_lab.middleware import RouteTemplates

from .conftest import ADMIN_TOKEN

FIELD_MAX_CHARS = 1024  # characters kept of one logged string
TRACE_MAX_CHARS = 8192  # of a traceback


@pytest.fixture
def stream(tmp_path):
    out = io.StringIO()
    logging_setup.configure_logging("INFO", tmp_path, stream=out)
    yield out
    logging_setup.remove_handlers()


def _lines(stream: io.StringIO) -> list[str]:
    logging_setup.flush_logs()
    return stream.getvalue().splitlines()


def test_every_logged_string_is_capped_with_a_marker(stream):
    huge = "p" * 30_000 + "END"
    logging.getLogger("fugatto_lab.test").warning(
        "x" * 5_000, extra={"path": huge, "errors": ["e" * 3_000, "short"], "nested": {"ua": "u" * 2_000}, "n": 7}
    )
    [line] = _lines(stream)
    record = json.loads(line)
    for value in (record["message"], record["path"], record["errors"][0], record["nested"]["ua"]):
        assert "chars truncated]..." in value and len(value) < FIELD_MAX_CHARS + 40
    assert record["path"].startswith("p" * 100) and record["path"].endswith("pEND")
    assert f"...[{30_003 - FIELD_MAX_CHARS} chars truncated]..." in record["path"]
    assert record["errors"][1] == "short" and record["n"] == 7 and record["level"] == "WARNING"
    assert len(line) < 5 * FIELD_MAX_CHARS


def test_a_traceback_keeps_its_end_and_more_room(stream):
    try:
        raise ValueError("the cause " + "c" * 20_000 + " END")
    except ValueError:
        logging.getLogger("fugatto_lab.test").exception("failed")
    record = json.loads(_lines(stream)[0])
    assert "Traceback (most recent call last)" in record["exc_info"] and record["exc_info"].endswith(" END")
    assert FIELD_MAX_CHARS < len(record["exc_info"]) < TRACE_MAX_CHARS + 40


def test_a_short_line_is_written_as_it_was(stream):
    logging.getLogger("fugatto_lab.test").info("ok", extra={"path": "/generate"})
    record = json.loads(_lines(stream)[0])
    assert record["message"] == "ok" and record["path"] == "/generate"
    assert "truncated" not in json.dumps(record)


def test_every_route_has_its_own_endpoint_label(settings):
    """Each path of the app's OpenAPI document, admin routes included, labels its own metrics."""
    app = create_app(replace(settings, faults_enabled=True, admin_token=ADMIN_TOKEN), autoload=False)
    paths = app.openapi()["paths"]
    assert "/admin/faults" in paths
    route_template = RouteTemplates(app.router.routes)
    for path, operations in paths.items():
        for method in operations:
            scope = {"type": "http", "method": method.upper(), "path": path, "root_path": "", "headers": []}
            assert route_template(scope) == path, (method, path)
    scope = {"type": "http", "method": "GET", "path": "/admin/other", "root_path": "", "headers": []}
    assert route_template(scope) == UNMATCHED_ENDPOINT


def test_read_bounds_come_from_the_environment():
    assert (settings_from_env({}).read_timeout_s, settings_from_env({}).max_header_bytes) == (10.0, 65536)
    tuned = settings_from_env({"FUGATTO_READ_TIMEOUT_S": "2.5", "FUGATTO_MAX_HEADER_BYTES": "8192"})
    assert (tuned.read_timeout_s, tuned.max_header_bytes) == (2.5, 8192)
    for name, value in (("FUGATTO_READ_TIMEOUT_S", "0"), ("FUGATTO_READ_TIMEOUT_S", "never"), ("FUGATTO_MAX_HEADER_BYTES", "10")):
        with pytest.raises(ConfigError, match=name):
            settings_from_env({name: value})
