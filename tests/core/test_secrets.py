"""Literal credentials are refused wherever they hide in a spec, and none reaches the output or the messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from stackgen.cli import app
from stackgen.parsers.credentials import find_in_text, find_under_name, looks_random, name_kind, redact, shannon_entropy
from stackgen.pipeline import render_stack
from stackgen.resolve import Stack
from stackgen.resolve.secrets import check_secrets, scan
from stackgen.spec.load import load_spec

ROOT = Path(__file__).resolve().parents[2]
BASE = ROOT / "tests" / "bad_specs" / "base.yaml.txt"

# Fake credentials, assembled so that no scanner mistakes this file for a leak.
SLACK_TOKEN = "xox" + "b-1234567890-0987654321-Zq8rT5wLm2Xv"
GITHUB_TOKEN = "gh" + "p_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
AWS_KEY_ID = "AKIA" + "Q3EXAMPLE7JX4R2KZ"[:16]
SLACK_HOOK = "https://hooks.slack.com/services/" + "T0A1B2C3D/B4E5F6G7H/q8R9s0T1u2V3w4X5y6Z7a8B9"
JWT = "eyJ" + "hbGciOiJIUzI1NiJ9.eyJ" + "zdWIiOiJhbGVydG1hbmFnZXIifQ.c2lnbmF0dXJlLXRoYXQtaXMtZmFrZQ"
PEM = "-----BEGIN " + "RSA PRIVATE KEY-----"

# (YAML path as stackgen prints it, the text to replace in base.yaml.txt, its replacement, the secret it plants).
SEEDS: list[tuple[str, str, str, str]] = [
    ("services[0].env.DB_PASS", "    team: web\n", "    team: web\n    env:\n      DB_PASS: hunter2\n", "hunter2"),
    ("services[0].env.STRIPE_KEY", "    env:\n", "    env:\n      STRIPE_KEY: 9fQ2x7LmA4vR8tK1zW6pE3nB\n",
     "9fQ2x7LmA4vR8tK1zW6pE3nB"),
    ("services[0].env.APIKEY", "    env:\n", "    env:\n      APIKEY: correct-horse\n", "correct-horse"),
    ("services[0].env.DATABASE_URL", "    env:\n", "    env:\n      DATABASE_URL: postgres://app:dbpa55word@db:5432/app\n",
     "dbpa55word"),
    ("services[0].command[2]", "    team: web\n", "    team: web\n    command: [serve, --admin-token, adm1n-t0ken-value]\n",
     "adm1n-t0ken-value"),
    ("services[0].alerts[0].annotations.chat", "        summary: API errors\n",
     f"        summary: API errors\n        annotations: {{chat: 'post with {SLACK_TOKEN}'}}\n", SLACK_TOKEN),
    ("services[0].alerts[1].annotations.session", "        summary: API slow\n",
     f"        summary: API slow\n        annotations:\n          session: {JWT}\n", JWT),
    ("services[0].alerts[1].annotations.deploy", "        annotations:\n",
     f"        annotations:\n          deploy: '{PEM}'\n", PEM),
    ("services[0].alerts[1].labels.deployer", "        summary: API slow\n",
     f"        summary: API slow\n        labels: {{deployer: {AWS_KEY_ID}}}\n", AWS_KEY_ID),
    ("services[0].alerts[0].runbook_url", "https://runbooks.example.com/ApiErrors",
     "https://wiki:rb-pa55@runbooks.example.com/ApiErrors", "rb-pa55"),
    ("alertmanager.receivers[0].webhook[1].url", "http://hooks.example.com/alerts",
     "http://alerts:wh-pa55@hooks.example.com/alerts", "wh-pa55"),
    ("alertmanager.receivers[0].webhook[0].url", "      webhook:\n", f"      webhook:\n        - url: {SLACK_HOOK}\n",
     SLACK_HOOK),
    ("grafana.url", "alertmanager:\n", "grafana: {url: 'https://admin:gr-pa55@grafana.example.com'}\nalertmanager:\n",
     "gr-pa55"),
    ("tracing.otlp_endpoint", "alertmanager:\n", "tracing: {otlp_endpoint: 'https://otel:ot-pa55@otel.example.com:4318'}\n"
     "alertmanager:\n", "ot-pa55"),
    ("prometheus.external_labels.cluster", "alertmanager:\n", f"prometheus: {{external_labels: {{cluster: {GITHUB_TOKEN}}}}}\n"
     "alertmanager:\n", GITHUB_TOKEN),
]


def _seeded_spec() -> str:
    text = BASE.read_text()
    for _, old, new, _ in SEEDS:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def _line_of(text: str, secret: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if secret in line)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_every_planted_credential_is_reported_at_its_line_and_none_is_written(tmp_path: Path):
    out = tmp_path / "generated"
    first = CliRunner().invoke(app, ["render", "--spec", str(_write(tmp_path, BASE.read_text())), "--out", str(out)])
    assert first.exit_code == 0, first.output
    before = _tree(out)
    spec = _write(tmp_path, text := _seeded_spec())
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(out)])

    assert result.exit_code == 2, result.output
    reported = re.findall(r"^\S*stack\.yaml:(\d+):\d+: (\S+): (.*)$", result.stderr, re.MULTILINE)
    assert sorted((int(line), path) for line, path, _ in reported) == sorted(
        (_line_of(text, secret), path) for path, _, _, secret in SEEDS)
    assert all("a literal secret is not allowed here" in message for _, _, message in reported)
    assert f"{len(SEEDS)} problem(s)" in result.stderr
    after = _tree(out)
    assert after == before
    for _, _, _, secret in SEEDS:
        assert secret not in result.stdout and secret not in result.stderr
        assert [name for name, data in after.items() if secret.encode() in data] == []


def test_the_seeded_credentials_would_otherwise_reach_the_output(tmp_path: Path):
    """Every seed lands in a field that is rendered: without the scan each would leak into generated/."""
    spec, _ = load_spec(_write(tmp_path, _seeded_spec()))
    rendered = "\n".join(a.content for a in render_stack(Stack(spec=spec, spec_name="stack.yaml")))
    assert [secret for *_, secret in SEEDS if secret not in rendered] == []


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stack.yaml"
    path.write_text(text)
    return path


def test_messages_say_which_reference_form_the_field_takes(tmp_path: Path):
    spec = _write(tmp_path, _seeded_spec())
    result = CliRunner().invoke(app, ["check", "--spec", str(spec)])
    assert result.exit_code == 2
    by_path = dict(re.findall(r"^\S+:\d+:\d+: (\S+): (.*)$", result.stderr, re.MULTILINE))
    assert by_path["services[0].env.DB_PASS"].startswith("DB_PASS names a secret: ")
    assert by_path["services[0].env.DB_PASS"].endswith(
        "move it to secret_env as {file: ...} or {env: ...}, or, if DB_PASS is not a credential, list it in the service's "
        "not_secret")
    assert by_path["services[0].env.DATABASE_URL"].endswith("move it to secret_env as {file: ...} or {env: ...}")
    assert by_path["services[0].env.STRIPE_KEY"].startswith("a random-looking value under STRIPE_KEY")
    assert by_path["services[0].env.DATABASE_URL"].startswith("a password in a URL (postgres://***:***@db:5432)")
    assert by_path["services[0].command[2]"].startswith("--admin-token names a secret")
    assert "secret_env ({file: ...} or {env: ...}), not as an argument" in by_path["services[0].command[2]"]
    assert by_path["alertmanager.receivers[0].webhook[0].url"].endswith(
        "use a slack receiver instead: its api_url takes {file: /run/secrets/NAME}")
    assert "Alertmanager 0.25 has no url_file" in by_path["alertmanager.receivers[0].webhook[1].url"]
    assert "copied into every alert's dashboard_url" in by_path["grafana.url"]
    assert by_path["prometheus.external_labels.cluster"].startswith("a GitHub token (gh?_...)")
    assert by_path["services[0].alerts[1].labels.deployer"].startswith("an AWS access key id")
    assert by_path["services[0].alerts[1].annotations.deploy"].startswith("a PEM private key")
    assert by_path["services[0].alerts[1].annotations.session"].startswith("a JWT")
    assert by_path["services[0].alerts[0].annotations.chat"].startswith("a Slack token")


@pytest.mark.parametrize("spec_file", [ROOT / "stack.yaml", BASE], ids=["stack.yaml", "base.yaml.txt"])
def test_bundled_specs_carry_no_credential(spec_file: Path, tmp_path: Path):
    spec, _ = load_spec(_write(tmp_path, spec_file.read_text()))
    assert scan(spec) == []
    # The same walk does look at this spec: one planted credential is found, at its path.
    leaky = spec.model_copy(update={"grafana": spec.grafana.model_copy(update={"url": "https://a:b@grafana.example.com"})})
    assert [(f.path, f.what) for f in scan(leaky)] == [(("grafana", "url"), "a password in a URL (https://***:***@grafana.example.com)")]


def test_committed_output_carries_no_credential_format():
    files = [p for p in (ROOT / "generated").rglob("*") if p.is_file()]
    assert len(files) > 20
    hits = [(str(p.relative_to(ROOT)), n) for p in files
            for n, line in enumerate(p.read_text(errors="replace").splitlines(), 1) if find_in_text(line)]
    assert hits == []


def test_secret_refs_are_checked_by_format_only(tmp_path: Path):
    """A reference's name says nothing (DB_PASSWORD may point anywhere), but a token pasted where the path
    belongs would be copied into generated/ (compose secrets, Kubernetes volumes) like any other string."""
    ordinary = BASE.read_text().replace("    team: web\n", "    team: web\n    secret_env:\n"
                                        "      DB_PASSWORD: {file: /run/secrets/db-password}\n")
    spec, _ = load_spec(_write(tmp_path, ordinary))
    assert scan(spec) == []
    pasted = ordinary.replace("/run/secrets/db-password", f"/run/secrets/{AWS_KEY_ID}")
    spec, positions = load_spec(_write(tmp_path, pasted))
    problems = [str(p) for p in check_secrets(spec, positions)]
    assert len(problems) == 1
    assert "services[0].secret_env.DB_PASSWORD.file: an AWS access key id" in problems[0]
    assert "put the secret in that file" in problems[0]
    assert AWS_KEY_ID not in problems[0]


# --- detectors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "what"), [
    ("https://user:pa55@example.com/x", "a password in a URL (https://***:***@example.com)"),
    ("see postgres://app:p@ss@db:5432/app", "a password in a URL (postgres://***:***@db:5432)"),
    ("https://Zq8rT5wLm2Xv4Kp9Bn3H@example.com", "a token as the user name of a URL (https://***:***@example.com)"),
    (SLACK_HOOK, "a Slack webhook URL (https://hooks.slack.com/services/...)"),
    (SLACK_TOKEN, "a Slack token (xox?-...)"),
    ("xapp-1-A0123456789-abcdef0123", "a Slack app token (xapp-...)"),
    (GITHUB_TOKEN, "a GitHub token (gh?_...)"),
    ("github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop", "a GitHub token (github_pat_...)"),
    ("glpat-" + "aB3dE5fG7hJ9kL1mN3pQ", "a GitLab token (glpat-...)"),
    (f"key={AWS_KEY_ID}", "an AWS access key id (AKIA... or ASIA...)"),
    ("ASIA" + "ABCDEFGHIJ234567", "an AWS access key id (AKIA... or ASIA...)"),
    ("AIza" + "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "a Google API key (AIza...)"),
    ("sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc", "a Stripe key (sk_live_...)"),
    (f"{PEM}\nMIIEowIBAAKCAQEA", "a PEM private key (-----BEGIN ... PRIVATE KEY-----)"),
    ("-----BEGIN " + "PRIVATE KEY-----", "a PEM private key (-----BEGIN ... PRIVATE KEY-----)"),
    (f"Bearer {JWT}", "a JWT (eyJ...)"),
    ("Authorization: Bearer 9fQ2x7LmA4vR8tK1zW6pE3nB", "an Authorization header credential"),
    (f"API errors{SLACK_TOKEN}", "a Slack token (xox?-...)"),  # glued to the text before it (found by the fuzzer)
    (f"see{GITHUB_TOKEN}", "a GitHub token (gh?_...)"),
])
def test_credential_formats_are_found(text: str, what: str):
    assert find_in_text(text) == what


@pytest.mark.parametrize("text", [
    "https://runbooks.example.com/ApiErrors",
    "ssh://git@github.com/org/repo",  # a user name alone is an identity
    "https://alerts@hooks.example.com/x",
    "http://localhost:3000",
    "mailto:oncall@example.com",
    "oncall@example.com",
    "prom/prometheus:v2.42.0",
    "registry.example.com:5000/team/api@sha256:" + "3f" * 32,
    'sum by (job) (rate(http_requests_total{code=~"5.."}[5m])) / sum by (job) (rate(http_requests_total[5m])) > 0.05',
    "{{ $value | humanizePercentage }} of requests fail.",
    "https://hooks.example.com/services/T000/B000",
    "xoxb-short",
    "ghp_tooShort123",
    "AKIA1234",  # too short
    "XAKIAABCDEFGHIJ234567",  # inside a longer word
    "eyJhbGciOiJIUzI1NiJ9",  # one JWT segment alone
    "-----BEGIN PUBLIC KEY-----",
    "-----BEGIN CERTIFICATE-----",
    "Bearer token expired",
    "fugatto_request_duration_seconds_bucket",
])
def test_ordinary_values_are_not_credentials(text: str):
    assert find_in_text(text) is None


@pytest.mark.parametrize(("name", "kind"), [
    ("DB_PASSWORD", "secret"), ("DB_PASS", "secret"), ("DB_PWD", "secret"), ("SMTP_PASSWD", "secret"),
    ("ADMIN_TOKEN", "secret"), ("apiToken", "secret"), ("APIKEY", "secret"), ("API_KEY", "secret"),
    ("x-api-key", "secret"), ("AWS_SECRET_ACCESS_KEY", "secret"), ("CLIENT_SECRET", "secret"),
    ("GOOGLE_CREDENTIALS", "secret"), ("PRIVATE_KEY", "secret"), ("admin-token", "secret"),
    ("STRIPE_KEY", "hint"), ("CACHE_KEY", "hint"), ("API_KEY_FILE", "hint"), ("TOKEN_TYPE", "hint"),
    ("MAX_TOKENS", "hint"), ("SECRET_NAME", "hint"),
    ("PWD", "hint"), ("LOG_LEVEL", None), ("METRICS_ENABLED", None), ("DATABASE_URL", None), ("severity", None),
])
def test_secret_names(name: str, kind: str | None):
    assert name_kind(name) == kind


def test_a_secret_name_refuses_any_literal_and_a_hint_only_a_random_one():
    assert find_under_name("DB_PASSWORD", "hunter2") == "DB_PASSWORD names a secret"
    assert find_under_name("DB_PASSWORD", "") is None
    assert find_under_name("CACHE_KEY", "request-path") is None
    assert find_under_name("API_KEY_FILE", "/run/secrets/api-key") is None
    assert find_under_name("CACHE_KEY", "9fQ2x7LmA4vR8tK1zW6pE3nB") == "a random-looking value under CACHE_KEY"
    assert find_under_name("LOG_LEVEL", "9fQ2x7LmA4vR8tK1zW6pE3nB") is None


def test_entropy_separates_keys_from_words_versions_and_paths():
    assert shannon_entropy("") == 0.0
    assert shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcd") == 2.0
    assert looks_random("9fQ2x7LmA4vR8tK1zW6pE3nB")  # base62
    assert looks_random("9fQ2x7LmA4vR8tK1")
    assert looks_random("3f1c9a7e5b2d8046a1c3e5f7b9d0e2c4")  # 32 hex digits
    assert looks_random("k8s4m2p9x7q1w3e5r6t8")  # one case, no separators
    assert looks_random("Zq8r_T5wLm-2Xv4Kp9Bn")  # base64url
    assert not looks_random("9fQ2x7LmA4vR8tK")  # too short to judge
    assert not looks_random("deadbeefdeadbeefdeadbeef")  # hex without digits: a word
    assert not looks_random("0000111100001111")  # hex, low entropy
    assert not looks_random("/run/secrets/api-key")
    assert not looks_random("kube-prometheus-stack")
    assert not looks_random("release-2024-06-01-build")
    assert not looks_random("us-east-1a-prod-cluster01")
    assert not looks_random("v1.2.3-rc1-linux-amd64")
    assert not looks_random("hunter2hunter2hunter2")
    assert not looks_random("aaaaaaaaaaaaaaaaaaaaaaaa1")
    assert not looks_random("9fQ2x7Lm A4vR8tK1 zW6pE3nB")


def test_command_flags_and_assignments(tmp_path: Path):
    text = BASE.read_text().replace("    team: web\n", "    team: web\n    command: [app, --password=pw1-value, -v, "
                                    "'DB_PASSWORD=pw2-value', --token, pw3-value, --log-level, debug, "
                                    "'sh -c \"app --api-key=pw4-value\"']\n")
    spec, _ = load_spec(_write(tmp_path, text))
    assert [(f.path, f.what) for f in scan(spec)] == [
        (("services", 0, "command", 1), "--password names a secret"),
        (("services", 0, "command", 3), "DB_PASSWORD names a secret"),
        (("services", 0, "command", 5), "--token names a secret"),
        (("services", 0, "command", 8), "--api-key names a secret"),
    ]


def test_credentials_rejected_for_another_reason_are_not_echoed(tmp_path: Path):
    """Validation messages quote the input they reject; a credential in it is masked there too."""
    text = (BASE.read_text()
            .replace("    team: web\n", f"    team: web\n    replicas: '{PEM}'\n")
            .replace("""matchers: ['code=~"5.."']""", f"""matchers: ['code=~"5..", {SLACK_TOKEN}']""")
            .replace("alertmanager:\n", "grafana: {url: 'https://admin:gr-pa55@grafana example.com'}\nalertmanager:\n"))
    result = CliRunner().invoke(app, ["check", "--spec", str(_write(tmp_path, text))])
    assert result.exit_code == 2, result.output
    assert "3 problem(s)" in result.stderr
    assert "got str 'https://***:***@grafana example.com'" in result.stderr
    for secret in (PEM, SLACK_TOKEN, "gr-pa55"):
        assert secret not in result.stderr


@pytest.mark.parametrize("secret", [SLACK_TOKEN, SLACK_HOOK, GITHUB_TOKEN, AWS_KEY_ID, JWT,
                                    f"{PEM}\nMIIEowIBAAK\n-----END RSA PRIVATE KEY-----",
                                    "https://user:pa55word@example.com", "Bearer 9fQ2x7LmA4vR8tK1zW6pE3nB"])
def test_redact_masks_every_recognised_credential(secret: str):
    redacted = redact(f"invalid value {secret!r} here")
    assert redacted.startswith("invalid value '") and redacted.endswith("' here")
    assert "***" in redacted
    assert max(re.split(r"[\s/@:.']|\\n", secret), key=len) not in redacted


def test_redact_leaves_ordinary_text_alone():
    for text in ("https://runbooks.example.com/ApiErrors", "ssh://git@github.com/org/repo", "Bearer token expired",
                 "string should match pattern '^https?://[^\\s/]+$'"):
        assert redact(text) == text


@pytest.mark.parametrize(("name", "value"), [
    ("MAX_BATCH_TOKENS", "4096"), ("TOKENIZERS_PARALLELISM", "false"), ("PASSWORD_MIN_LENGTH", "12"),
])
def test_ordinary_settings_that_mention_a_secret_word_are_accepted(name: str, value: str):
    # judged by the last word: a count, a switch and a policy length are not credentials
    assert find_under_name(name, value) is None


def _with_env(tmp_path: Path, fields: str) -> Path:
    return _write(tmp_path, BASE.read_text().replace("    team: web\n", f"    team: web\n{fields}", 1))


@pytest.mark.parametrize(("fields", "code"), [
    ('    env: {PAD_TOKEN: "<pad>", EOS_TOKEN: "</s>"}\n    not_secret: [PAD_TOKEN, EOS_TOKEN]\n', 0),
    ('    env: {PAD_TOKEN: "<pad>", EOS_TOKEN: "</s>"}\n    not_secret: [PAD_TOKEN]\n', 2),
    (f'    env: {{PAD_TOKEN: "{SLACK_TOKEN}"}}\n    not_secret: [PAD_TOKEN]\n', 2),
], ids=["listed", "unlisted", "listed-but-a-token"])
def test_not_secret_exempts_a_name_but_not_a_credential_value(tmp_path: Path, fields: str, code: int):
    result = CliRunner().invoke(app, ["render", "--spec", str(_with_env(tmp_path, fields)), "--out", str(tmp_path / "out")])
    assert result.exit_code == code, result.output
    if code:
        # the name rule still judges the unlisted key, the format rule the listed one
        assert re.search(r"services\[0\]\.env\.(EOS_TOKEN: EOS_TOKEN names a secret.*list it in the service's not_secret"
                         r"|PAD_TOKEN: a Slack token)", result.stderr), result.stderr
        assert SLACK_TOKEN not in result.stderr
    else:
        assert "PAD_TOKEN: <pad>" in (tmp_path / "out" / "compose" / "docker-compose.yml").read_text()


def test_a_file_secret_tells_the_app_its_path_in_compose_and_kubernetes(tmp_path: Path):
    spec = _with_env(tmp_path, "    secret_env: {DB_PASSWORD: {file: /run/secrets/db-password}, API_KEY: {env: API_KEY}}\n")
    result = CliRunner().invoke(app, ["render", "--spec", str(spec), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    compose = yaml.safe_load((tmp_path / "out" / "compose" / "docker-compose.yml").read_text())["services"]["api"]
    assert compose["environment"]["DB_PASSWORD_FILE"] == "/run/secrets/db-password"
    assert {"source": "db-password", "target": "/run/secrets/db-password"} in compose["secrets"]
    assert "DB_PASSWORD" not in compose["environment"]
    pod = yaml.safe_load((tmp_path / "out" / "k8s" / "base" / "api-deployment.yaml").read_text())["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert {"name": "DB_PASSWORD_FILE", "value": "/run/secrets/db-password"} in container["env"]
    assert {"name": "API_KEY", "valueFrom": {"secretKeyRef": {"name": "api-secrets", "key": "API_KEY"}}} in container["env"]
    # the Secret documented in docs/deploy.md: key = the file's name, projected at the file's folder
    volume = next(v for v in pod["volumes"] if "secret" in v)
    assert volume["secret"] == {"secretName": "api-secrets", "items": [{"key": "db-password", "path": "db-password"}]}
    assert {"name": volume["name"], "mountPath": "/run/secrets", "readOnly": True} in container["volumeMounts"]


def test_a_file_secret_path_variable_set_elsewhere_is_an_error(tmp_path: Path):
    spec = _with_env(tmp_path, "    env: {DB_PASSWORD_FILE: /elsewhere}\n"
                               "    secret_env: {DB_PASSWORD: {file: /run/secrets/db-password}}\n")
    result = CliRunner().invoke(app, ["check", "--spec", str(spec)])
    assert result.exit_code == 2
    assert re.search(r"stack\.yaml:7:\d+: services\[0\]\.secret_env\.DB_PASSWORD: the path of DB_PASSWORD's file is passed "
                     r"as DB_PASSWORD_FILE, which env also sets", result.stderr), result.stderr
