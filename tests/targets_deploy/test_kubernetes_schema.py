"""checks.kubernetes_schema: kubernetes-validate's strict schemas, used in process."""

from __future__ import annotations

import pytest

from stackgen.checks import kubernetes_schema


def test_a_wrong_type_and_an_unknown_field_are_named_by_path():
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
               "spec": {"ports": [{"port": "80", "bogus": 1}]}}
    assert kubernetes_schema.problems(service, "1.30.0") == [
        "spec.ports.0: Additional properties are not allowed ('bogus' was unexpected)",
        "spec.ports.0.port: '80' is not of type 'integer'",
    ]


def test_a_valid_resource_and_a_kind_without_schema_pass():
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
    assert kubernetes_schema.problems(config_map, "1.30.0") == []
    assert kubernetes_schema.problems({"apiVersion": "example.com/v1", "kind": "Widget"}, "1.30.0") == []


def test_the_release_is_the_newest_bundled_one_not_newer_than_asked():
    assert kubernetes_schema.schema_release("1.30.7") == "1.30.0"
    with pytest.raises(ValueError, match="no schemas for Kubernetes 9.99"):
        kubernetes_schema.schema_release("9.99.0")


def test_every_validation_records_the_library_for_the_check_cache():
    """The schemas are cached per process; the library must still be recorded on every run, or a cached
    `check` would not notice kubernetes-validate being upgraded."""
    from stackgen.checks import kubernetes, tools

    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}, "data": {"a": "b"}}
    for _ in range(2):
        with tools.recording() as used:
            assert kubernetes._validate_core("base", [config_map]) == []
        assert any(key.startswith("python-lib:kubernetes_validate") for key in used)
