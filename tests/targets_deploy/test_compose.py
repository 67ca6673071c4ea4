"""The compose stack: content derived from the spec, and the validator failing on broken references."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stackgen.checks import compose as compose_check
from stackgen.cli import app
from stackgen.model import names
from stackgen.model.deploy import alertmanager_secret_files
from stackgen.spec.server import image_problem
from stackgen.targets.compose import compose_file


def _load(root: Path) -> dict:
    return yaml.safe_load((root / names.COMPOSE_FILE).read_text())


def _write(root: Path, data: dict) -> None:
    (root / names.COMPOSE_FILE).write_text(yaml.safe_dump(data))


def test_service_is_built_tagged_gpu_reserved_and_health_checked(rendered, stack):
    svc = _load(rendered)["services"]["fugatto-audio-lab"]
    assert svc["build"] == {"context": "../..", "dockerfile": "service/Dockerfile"}
    assert svc["image"] == "fugatto-audio-lab:0.1.0"
    assert svc["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}
    ]
    assert svc["healthcheck"]["test"][-1] == "http://127.0.0.1:8000/health"
    assert svc["healthcheck"]["interval"] == "30s" and svc["healthcheck"]["retries"] == 3
    assert svc["environment"]["LOG_LEVEL"] == "INFO"
    # the log folder comes from the log schema (services[].logs), the one place it is stated
    logs = stack.spec.services[0].logs
    assert svc["environment"]["FUGATTO_LOG_DIR"] == logs.directory == "/app/logs"
    assert svc["volumes"] == ["fugatto-audio-lab-logs:/app/logs", "fugatto-audio-lab-model-cache:/models"]
    assert svc["shm_size"] == 2**30  # stack.yaml's 1Gi /dev/shm, in bytes
    assert svc["ports"] == ["127.0.0.1:8000:8000", "127.0.0.1:8001:8001"]


def test_every_image_pinned_every_port_on_loopback(rendered):
    services = _load(rendered)["services"]
    assert set(services) == {
        "fugatto-audio-lab",
        "prometheus",
        "alertmanager",
        "grafana",
        "elasticsearch",
        "logstash",
        "kibana",
        "jaeger",
    }
    for name, svc in services.items():
        assert image_problem(svc["image"]) is None, name
        assert all(p.startswith("127.0.0.1:") for p in svc.get("ports", [])), name


def test_profiles_leave_the_core_without_log_and_trace_backends(rendered):
    services = _load(rendered)["services"]
    core = {n for n, s in services.items() if "profiles" not in s}
    assert core == {"fugatto-audio-lab", "prometheus", "alertmanager", "grafana"}
    assert services["elasticsearch"]["profiles"] == ["logs", "all"]
    assert services["jaeger"]["profiles"] == ["traces", "all"]
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}
    assert services["logstash"]["depends_on"] == {"elasticsearch": {"condition": "service_healthy"}}


def test_secrets_are_the_specs_file_references_read_from_the_ignored_folder(rendered, stack):
    data = _load(rendered)
    expected = {(f.name, f.path) for f in alertmanager_secret_files(stack.spec)}
    assert expected == {
        ("smtp-password", "/etc/alertmanager/secrets/smtp-password"),
        ("slack-webhook-url", "/etc/alertmanager/secrets/slack-webhook-url"),
    }
    assert {(s["source"], s["target"]) for s in data["services"]["alertmanager"]["secrets"]} == expected
    assert all(s["file"] == f"../../secrets/{name}" for name, s in data["secrets"].items())
    grafana = data["services"]["grafana"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana-admin-password"
    assert "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]


def test_configs_of_other_families_are_mounted_only_when_rendered(stack):
    bare = compose_file(stack.spec, ["prometheus/prometheus.yml"])
    assert bare["services"]["grafana"]["volumes"] == ["grafana-data:/var/lib/grafana"]
    produced = [
        "grafana/provisioning/datasources/prometheus.yml",
        "grafana/dashboards/overview.json",
        "logstash/pipeline/main.conf",
        "logstash/config/logstash.yml",
        "logstash/config/pipelines.yml",
        "prometheus/prometheus.yml",
        "prometheus/rules/x.yml",
    ]
    full = compose_file(stack.spec, produced)["services"]
    assert "../grafana/provisioning:/etc/grafana/provisioning:ro" in full["grafana"]["volumes"]
    assert "../grafana/dashboards:/var/lib/grafana/dashboards:ro" in full["grafana"]["volumes"]
    assert "../logstash/pipeline:/usr/share/logstash/pipeline:ro" in full["logstash"]["volumes"]
    assert (
        "../logstash/config/pipelines.yml:/usr/share/logstash/config/pipelines.yml:ro" in full["logstash"]["volumes"]
    )
    assert "fugatto-audio-lab-logs:/var/log/stackgen/fugatto-audio-lab:ro" in full["logstash"]["volumes"]
    assert "../prometheus/rules:/etc/prometheus/rules:ro" in full["prometheus"]["volumes"]


def test_component_servers_come_from_their_own_sections(spec_variant):
    """Images, hosts and ports of the third-party servers are read from grafana/logging/tracing only."""
    from stackgen.resolve import load_stack

    spec = load_stack(
        spec_variant(
            ("grafana:\n", "grafana:\n  image: grafana/grafana:11.4.1\n  port: 3100\n"),
            (
                "logging:\n",
                "logging:\n  elasticsearch: {image: 'docker.elastic.co/elasticsearch/elasticsearch:8.16.0', "
                "host: es, port: 9201}\n",
            ),
            ("tracing:\n", "tracing:\n  jaeger: {image: 'jaegertracing/all-in-one:1.63.0', host: traces, port: 16687}\n"),
        )
    ).spec
    services = compose_file(spec, [])["services"]
    assert services["grafana"]["image"] == "grafana/grafana:11.4.1"
    assert services["grafana"]["ports"] == ["127.0.0.1:3100:3100"]
    assert services["es"]["image"].endswith(":8.16.0") and services["es"]["ports"] == ["127.0.0.1:9201:9201"]
    assert "elasticsearch" not in services
    assert services["logstash"]["environment"]["ELASTICSEARCH_HOSTS"] == "http://es:9201"
    assert services["kibana"]["depends_on"] == {"es": {"condition": "service_healthy"}}
    assert services["traces"]["image"] == "jaegertracing/all-in-one:1.63.0"
    assert "127.0.0.1:16687:16687" in services["traces"]["ports"]
    # the services export to the renamed Jaeger (the OTLP endpoint defaults to its receiver)
    assert services["fugatto-audio-lab"]["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://traces:4318"


def test_rendered_stack_passes_the_validator(rendered, stack):
    assert compose_check.validate(rendered, stack) == []


def test_mount_of_a_missing_file_fails_naming_it(tree, stack):
    data = _load(tree)
    data["services"]["grafana"]["volumes"].append("../grafana/plugins:/var/lib/grafana/plugins:ro")
    _write(tree, data)
    messages = [f.message for f in compose_check.validate(tree, stack)]
    assert any("'grafana'" in m and "../grafana/plugins" in m and "does not exist" in m for m in messages)


def test_unpinned_image_and_public_port_fail_naming_them(tree, stack):
    data = _load(tree)
    data["services"]["kibana"]["image"] = "docker.elastic.co/kibana/kibana:latest"
    data["services"]["jaeger"]["image"] = "jaegertracing/all-in-one"
    data["services"]["grafana"]["ports"] = ["3000:3000"]
    _write(tree, data)
    messages = "\n".join(f.message for f in compose_check.validate(tree, stack))
    assert "'kibana'" in messages and "kibana:latest" in messages and "not pinned" in messages
    assert "'jaeger'" in messages and "has no tag" in messages
    assert "'grafana' publishes '3000:3000' on all interfaces" in messages


def test_logstash_must_mount_each_log_volume_where_the_pipeline_reads(tree, stack):
    data = _load(tree)
    volumes = data["services"]["logstash"]["volumes"]
    good = "fugatto-audio-lab-logs:/var/log/stackgen/fugatto-audio-lab:ro"
    volumes[volumes.index(good)] = "fugatto-audio-lab-logs:/var/log/elsewhere:ro"
    _write(tree, data)
    messages = [f.message for f in compose_check.validate(tree, stack)]
    assert any(
        "'fugatto-audio-lab'" in m and "'/var/log/elsewhere'" in m
        and "/var/log/stackgen/fugatto-audio-lab/fugatto_lab.log" in m
        for m in messages
    ), messages
    volumes.remove("fugatto-audio-lab-logs:/var/log/elsewhere:ro")
    _write(tree, data)
    messages = [f.message for f in compose_check.validate(tree, stack)]
    assert any("'fugatto-audio-lab'" in m and "which Logstash does not mount" in m for m in messages), messages
    data["services"]["fugatto-audio-lab"]["volumes"] = ["fugatto-audio-lab-logs:/tmp/logs"]
    _write(tree, data)
    messages = [f.message for f in compose_check.validate(tree, stack)]
    assert any("'fugatto-audio-lab' mounts no volume at its log folder '/app/logs'" in m for m in messages)


def test_env_setting_the_log_folder_variable_is_an_input_error(spec_variant):
    from stackgen.diagnostics import SpecError
    from stackgen.resolve import load_stack

    spec = spec_variant(("      LOG_LEVEL: INFO\n", "      LOG_LEVEL: INFO\n      FUGATTO_LOG_DIR: /var/log/x\n"))
    try:
        load_stack(spec)
    except SpecError as err:
        assert "services[0].env.FUGATTO_LOG_DIR" in str(err) and "set by the logs section" in str(err)
    else:
        raise AssertionError("FUGATTO_LOG_DIR in env was accepted")


def test_scrape_target_must_name_a_compose_service_and_its_metrics_port(tree, stack):
    config = tree / names.PROMETHEUS_CONFIG
    config.write_text(config.read_text().replace("fugatto-audio-lab:8001", "fugatto-audio-lab:9999"))
    messages = [f.message for f in compose_check.validate(tree, stack)]
    assert any("fugatto-audio-lab:9999" in m and "does not listen on port 9999" in m for m in messages)
    config.write_text(config.read_text().replace("fugatto-audio-lab:9999", "fugatto:8001"))
    messages = [f.message for f in compose_check.validate(tree, stack)]
    assert any("'fugatto' is not a compose service" in m for m in messages)


def test_secret_outside_the_ignored_folder_and_schema_violation_fail(tree, stack):
    data = _load(tree)
    data["secrets"]["smtp-password"]["file"] = "../alertmanager/alertmanager.yml"
    data["services"]["prometheus"]["bogus_key"] = True
    _write(tree, data)
    findings = compose_check.validate(tree, stack)
    assert any("secret 'smtp-password'" in f.message for f in findings)
    assert any(
        f.rule.startswith("compose-spec schema") and "bogus_key" in f.message for f in findings
    )


@pytest.mark.slow
def test_stackgen_check_fails_on_an_unpinned_image_naming_it(tmp_path, spec_variant):
    spec = spec_variant(
        ("alertmanager:\n  global:", "alertmanager:\n  image: prom/alertmanager:latest\n  global:")
    )
    out = tmp_path / "generated"
    runner = CliRunner()
    assert runner.invoke(app, ["render", "--spec", str(spec), "--out", str(out)]).exit_code == 0
    result = runner.invoke(app, ["check", "--spec", str(spec), "--out", str(out)])
    assert result.exit_code == 1
    assert "service 'alertmanager': image 'prom/alertmanager:latest' is not pinned" in result.output
    assert "Alertmanager 'fugatto': image 'prom/alertmanager:latest' is not pinned" in result.output
