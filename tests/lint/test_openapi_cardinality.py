"""Probe paths against the service's OpenAPI document (and that document against the app); bounded labels."""

from __future__ import annotations

import json
import runpy

from .conftest import REPO, SPEC_TEXT, errors, replace_once


def test_committed_openapi_document_matches_the_app():
    script = runpy.run_path(str(REPO / "scripts" / "export-openapi"))
    committed = json.loads((REPO / "service" / "openapi.json").read_text())
    assert committed["paths"] == script["document"]()["paths"], "run scripts/export-openapi"
    assert {"/live", "/ready", "/health"} <= set(committed["paths"])


def test_probe_path_the_app_does_not_serve(lint_text):
    text = replace_once(SPEC_TEXT, "liveness: {path: /live,", "liveness: {path: /livez,")
    found = errors(lint_text(text), "openapi-probe-path")
    assert len(found) == 1
    assert "probes.liveness.path" in found[0].location() and "GET /livez" in found[0].message
    assert "/health, /health/detailed, /live, /ready" in found[0].message


def test_startup_probe_path_is_checked_too(lint_text):
    text = replace_once(SPEC_TEXT, "startup: {path: /ready,", "startup: {path: /started,")
    found = errors(lint_text(text), "openapi-probe-path")
    assert len(found) == 1 and "probes.startup.path" in found[0].location() and "GET /started" in found[0].message


def test_no_openapi_document_is_a_warning(lint_text):
    text = replace_once(SPEC_TEXT, "    openapi: service/openapi.json\n", "")
    found = lint_text(text)
    assert [(f.rule, f.severity) for f in found] == [("openapi-missing", "warning")]
    assert "no OpenAPI document declared" in found[0].message


def test_unreadable_openapi_document(lint_text):
    found = errors(lint_text(replace_once(SPEC_TEXT, "openapi: service/openapi.json", "openapi: service/gone.json")))
    assert [f.rule for f in found] == ["openapi-unreadable"] and "gone.json" in found[0].message


def test_unbounded_label_names(lint_text):
    text = replace_once(SPEC_TEXT, "labels: [method, endpoint, status]", "labels: [method, endpoint, status, user_id]")
    text = replace_once(text, "        labels: [model, success]", "        labels: [model, success, prompt, size_bytes]")
    found = errors(lint_text(text), "cardinality-unbounded-label")
    assert [f.location().rsplit(": ", 1)[-1] for f in found] == [
        "services[0].metrics[0].labels[3]", "services[0].metrics[3].labels[2]", "services[0].metrics[3].labels[3]"]
    assert "'user_id' of fugatto_requests_total is unbounded" in found[0].message
    assert "a raw number" in found[2].message
    assert all("use a route template / bucket instead" in f.fix for f in found)
