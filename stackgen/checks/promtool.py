"""promtool: the server config (which also checks every rule file) and the generated rule unit tests."""

from __future__ import annotations

import json
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

from stackgen.checks import fast_yaml
from stackgen.checks.fleet import group_by_shape
from stackgen.checks.tools import ToolMissing, find, missing_finding, output_of, run
from stackgen.diagnostics import Diagnostic
from stackgen.model import names
from stackgen.model.servers import prometheus_servers
from stackgen.resolve import Stack


def validate(root: Path, stack: Stack) -> list[Diagnostic]:
    try:
        promtool = find("promtool")
    except ToolMissing as exc:
        return [missing_finding(exc, names.PROMETHEUS_CONFIG)]
    findings = []
    # The whole stack's config, and with replicas or shards each server's own (its shard of jobs and rules).
    configs = sorted({names.PROMETHEUS_CONFIG, *(server.config for server in prometheus_servers(stack.spec))})
    for path in configs:
        config = check_config(promtool, root, stack, path)
        if config.returncode != 0:
            findings.append(Diagnostic(path, rule="promtool check config", message=output_of(config)))
    tests = sorted(p.relative_to(root).as_posix() for p in (root / "prometheus" / "tests").glob("*.yml"))
    # Services of one template share a run (checks.fleet); the first file of each shape runs.
    shapes = group_by_shape(root, tests, list(stack.spec.services))
    # A few files (a small stack): all at once, each split across the cores (the SLO tests are most of check's
    # time). Many files: one promtool per core, each on whole files; never more processes than that allows.
    cores = os.cpu_count() or 1
    parts = cores if len(shapes) <= cores else 1
    with ThreadPoolExecutor(max_workers=max(1, min(len(shapes), cores))) as pool:
        results = pool.map(lambda shape: test_rules(promtool, root / shape[0], parts), shapes)
        for (test, *alike), runs in zip(shapes, results, strict=True):
            if failed := "\n".join(output_of(r) for r in runs if r.returncode != 0):
                findings.append(Diagnostic(test, rule="promtool test rules", message=failed))
                findings += [Diagnostic(other, rule="promtool test rules", message=f"as {test} (the same rules and "
                                        f"tests but for the service's name, run once): {failed}") for other in alike]
    return findings


def test_rules(promtool: str, test: Path, parts: int) -> list[CompletedProcess[str]]:
    """`promtool test rules` on one file, as up to `parts` copies that each hold every `parts`-th test group,
    run side by side. Test groups are independent (each has its own storage and clock), so this proves
    what one run proves; the copies keep the file's name and settings and name its rule files by absolute
    path, so promtool's messages read as for the file itself."""
    document = fast_yaml.load(test.read_text(encoding="utf-8"))
    groups = document.get("tests") if isinstance(document, dict) else None
    if parts <= 1 or not isinstance(groups, list) or len(groups) <= 1:
        return [run([promtool, "test", "rules", test.name], cwd=test.parent)]
    rule_files = [(test.parent / f).as_posix() for f in document.get("rule_files") or []]
    with tempfile.TemporaryDirectory(prefix="stackgen-promtool-tests-") as tmp:
        copies = [Path(tmp, str(k)) for k in range(min(parts, len(groups)))]
        for k, folder in enumerate(copies):
            folder.mkdir()
            part = {**document, "rule_files": rule_files, "tests": groups[k::len(copies)]}
            (folder / test.name).write_text(json.dumps(part), encoding="utf-8")  # JSON is YAML
        with ThreadPoolExecutor(max_workers=len(copies)) as pool:
            return list(pool.map(lambda folder: run([promtool, "test", "rules", test.name], cwd=folder), copies))


# The keys of a scrape job that name a file Prometheus reads (promtool stats cert, key and credentials files).
_FILE_KEYS = {"tls_config": ("ca_file", "cert_file", "key_file"), "basic_auth": ("password_file",),
              "authorization": ("credentials_file",)}


def check_config(promtool: str, root: Path, stack: Stack, path: str = names.PROMETHEUS_CONFIG) -> CompletedProcess[str]:
    """`promtool check config` on prometheus.yml. promtool fails on a client certificate, key or credentials
    file that does not exist, and those exist only where Prometheus runs (mounted secrets); `--syntax-only`
    would skip the rule files too. So a config naming such files is checked as a copy whose file paths point
    at empty stand-ins, with its rule files named by absolute path: every other check stays as strict."""
    files = sorted({*(f for service in stack.spec.services for f in service.scrape.files()),
                    *stack.spec.prometheus.remote_write_files()})
    if not files:
        return run([promtool, "check", "config", path], cwd=root)
    config_dir = (root / path).parent
    config: dict[str, Any] = fast_yaml.load((root / path).read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="stackgen-promtool-") as tmp:
        stand_in = {path: Path(tmp, f"stand-in-{i}").as_posix() for i, path in enumerate(files)}
        for path in stand_in.values():
            Path(path).write_text("", encoding="utf-8")
        for job in [*config.get("scrape_configs", []), *config.get("remote_write", [])]:
            for section, keys in _FILE_KEYS.items():
                for key in keys:
                    if job.get(section, {}).get(key) in stand_in:
                        job[section][key] = stand_in[job[section][key]]
        config["rule_files"] = [(config_dir / f).as_posix() for f in config.get("rule_files", [])]
        copy = Path(tmp, Path(path).name)
        copy.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        return run([promtool, "check", "config", copy.name], cwd=Path(tmp))
