"""promtool: the server config (which also checks every rule file) and the generated rule unit tests."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import yaml

from stackgen.checks.tools import ToolMissing, find, missing_finding, output_of, run
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.resolve import Stack


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    try:
        promtool = find("promtool")
    except ToolMissing as exc:
        return [missing_finding(exc, names.PROMETHEUS_CONFIG)]
    findings = []
    config = check_config(promtool, root, stack)
    if config.returncode != 0:
        findings.append(Diagnostic(names.PROMETHEUS_CONFIG, rule="promtool check config", message=output_of(config)))
    tests = sorted(p.relative_to(root).as_posix() for p in (root / "prometheus" / "tests").glob("*.yml"))
    for test in tests:
        result = run([promtool, "test", "rules", Path(test).name], cwd=root / "prometheus" / "tests")
        if result.returncode != 0:
            findings.append(Diagnostic(test, rule="promtool test rules", message=output_of(result)))
    return findings


# The keys of a scrape job that name a file Prometheus reads (promtool stats cert, key and credentials files).
_FILE_KEYS = {"tls_config": ("ca_file", "cert_file", "key_file"), "basic_auth": ("password_file",),
              "authorization": ("credentials_file",)}


def check_config(promtool: str, root: Path, stack: Stack) -> CompletedProcess[str]:
    """`promtool check config` on prometheus.yml. promtool fails on a client certificate, key or credentials
    file that does not exist, and those exist only where Prometheus runs (mounted secrets); `--syntax-only`
    would skip the rule files too. So a config naming such files is checked as a copy whose file paths point
    at empty stand-ins, with its rule files named by absolute path: every other check stays as strict."""
    files = sorted({f for service in stack.spec.services for f in service.scrape.files()})
    if not files:
        return run([promtool, "check", "config", names.PROMETHEUS_CONFIG], cwd=root)
    config_dir = (root / names.PROMETHEUS_CONFIG).parent
    config: dict[str, Any] = yaml.safe_load((root / names.PROMETHEUS_CONFIG).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="stackgen-promtool-") as tmp:
        stand_in = {path: Path(tmp, f"stand-in-{i}").as_posix() for i, path in enumerate(files)}
        for path in stand_in.values():
            Path(path).write_text("", encoding="utf-8")
        for job in config.get("scrape_configs", []):
            for section, keys in _FILE_KEYS.items():
                for key in keys:
                    if job.get(section, {}).get(key) in stand_in:
                        job[section][key] = stand_in[job[section][key]]
        config["rule_files"] = [(config_dir / f).as_posix() for f in config.get("rule_files", [])]
        copy = Path(tmp, Path(names.PROMETHEUS_CONFIG).name)
        copy.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        return run([promtool, "check", "config", copy.name], cwd=Path(tmp))
