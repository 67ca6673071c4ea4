"""Services stamped from one template share the validators' runs.

A fleet of services built from one template renders files that differ only by the service's name (its
job, its `service` label, its file names) and its metrics port (the `instance` label). A validator
proves the same thing for each of them, and at a thousand services promtool alone is an hour of CPU.
So files are grouped by their *shape*: the text with the service's name and instance replaced by
placeholders. One file of each shape is validated, for all of them.

Names are renamed as whole words only, so the renaming is one-to-one: a file that names another
service keeps that name, and its shape cannot equal that service's own (which holds no whole-word copy
of it). What else a renaming must not change depends on the validator:

promtool (`group_by_shape`): a test file and the rule files it loads. Label equality, grouping, joins
and Go templates that print a label are blind to a renaming; three things are not, and a test file that
uses any of them keeps a run of its own:
- a regex matcher (`=~`, `!~`) on a label whose value carries the name;
- a function that reads a label's text (`label_replace`, `label_join`, `sort_by_label`, a template's
  `reReplaceAll`/`match`) or breaks ties by label order (`topk`, `bottomk`, `limitk`, `limit_ratio`).

yamllint (`group_by_text`): also the service's two port numbers and content digests (a config checksum)
are renamed, each distinct word to a placeholder of its own. A name, a port and a digest are each one
word inside a scalar, so renaming them changes no token and no structure; only a name that YAML 1.1
reads as a boolean (`yes`, `on`, ...) could be linted differently (the `truthy` rule), and such a
service's files are linted one by one. (stackgen's yamllint config does not check line length.)
"""

from __future__ import annotations

import re
from pathlib import Path

from stackgen.checks import fast_yaml
from stackgen.model import names
from stackgen.spec.service import Service

SERVICE, INSTANCE = "\x00service\x00", "\x00instance\x00"  # no YAML file holds a NUL: no clash with real text
# A regex matcher and its label; a label that is not a plain word (a quoted UTF-8 name) reads as None: unsafe.
_REGEX_MATCHER = re.compile(r"(?:(\w+)|\S)\s*[=!]~")
# A label written as `name="…SERVICE…"` (PromQL, series notation) or `name: …SERVICE…` (YAML): its value is renamed.
_RENAMED_LABEL = re.compile(r"(\w+)(?:[ \t]*=[ \t]*\"|:[ \t]*['\"]?)[^\"\n,}]*\x00")
_READS_LABEL_TEXT = re.compile(r"\b(label_replace|label_join|sort_by_label(?:_desc)?|topk|bottomk|limitk|limit_ratio"
                               r"|reReplaceAll|match)\b")


def _rename(text: str, service: Service) -> str:
    name = re.escape(service.name)
    # Whole names only: `svc-1` is not renamed inside `svc-10`, `x` not inside `expr`.
    text = re.sub(rf"(?<![A-Za-z0-9]){name}:{service.ports.metrics}(?![0-9])", INSTANCE, text)
    return re.sub(rf"(?<![A-Za-z0-9]){name}(?![A-Za-z0-9])", SERVICE, text)


def _shape(root: Path, test: str, service: Service) -> str | None:
    """The test file and its rule files with the service renamed; None if a rule file is missing."""
    path = root / test
    text = path.read_text(encoding="utf-8")
    rule_files = _rule_files(text)
    if rule_files is None:
        return None
    parts = [text]
    for rule_file in rule_files:
        rules = path.parent / str(rule_file)
        if not rules.is_file():
            return None  # promtool reports it; a run of its own shows where
        parts.append(rules.read_text(encoding="utf-8"))
    return "\x00file\x00".join(_rename(part, service) for part in parts)


def _renaming_is_safe(shape: str) -> bool:
    """No regex on a renamed label, and nothing that reads label text or breaks ties by it."""
    renamed: set[str | None] = {m.group(1) for m in _RENAMED_LABEL.finditer(shape)} | {None}
    return not _READS_LABEL_TEXT.search(shape) and not renamed & {m.group(1) for m in _REGEX_MATCHER.finditer(shape)}


# As stackgen writes it: one top-level `rule_files:` block of plain paths. Reading that with a regex instead
# of parsing the whole file is most of the grouping's speed at a thousand services; anything else is parsed.
_RULE_FILES = re.compile(r"^rule_files:\n((?:- [\w./-]+\n)+)", re.MULTILINE)


def _rule_files(text: str) -> list[str] | None:
    blocks = _RULE_FILES.findall(text)
    if len(blocks) == 1 and text.count("rule_files:") == 1:
        return [line[2:] for line in blocks[0].splitlines()]
    document = fast_yaml.load(text)
    rule_files = document.get("rule_files") if isinstance(document, dict) else None
    return [str(f) for f in rule_files] if isinstance(rule_files, list) else None


def _service_tests(services: list[Service]) -> dict[str, Service]:
    """Each service's promtool test files, by path under the output root."""
    return {test: service for service in services
            for test in (names.alert_tests_file(service.name), names.slo_tests_file(service.name),
                         names.slo_ticket_tests_file(service.name))}


def group_by_shape(root: Path, tests: list[str], services: list[Service]) -> list[list[str]]:
    """`tests` in groups that one promtool run proves, each led by the file to run; in the order of `tests`."""
    owner = _service_tests(services)
    safe: dict[str, bool] = {}  # per shape: its members share the verdict, so one look decides for all
    groups: dict[str, list[str]] = {}
    for test in tests:
        service = owner.get(test)
        shape = _shape(root, test, service) if service is not None else None
        if shape is not None and shape not in safe:
            safe[shape] = _renaming_is_safe(shape)
        groups.setdefault(shape if shape is not None and safe[shape] else test, []).append(test)  # else: alone
    return list(groups.values())


# YAML 1.1 booleans, which yamllint's `truthy` rule reports as plain scalars.
_TRUTHY = {"y", "yes", "n", "no", "true", "false", "on", "off"}


def _owners(files: list[str], services: list[Service]) -> dict[str, Service]:
    """The service each file belongs to: the longest service name in its file name, as a whole word."""
    by_name = {service.name: service for service in services if service.name.lower() not in _TRUTHY}
    if not by_name:
        return {}
    alternatives = "|".join(re.escape(name) for name in sorted(by_name, key=len, reverse=True))
    pattern = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
    owners = {}
    for file in files:
        found = [m.group(0) for m in pattern.finditer(file.rsplit("/", 1)[-1])]
        if found:
            owners[file] = by_name[max(found, key=len)]
    return owners


# A content digest (a config checksum annotation): 16 or more lowercase hex digits as one word.
_DIGEST = re.compile(r"(?<![0-9A-Za-z])[0-9a-f]{16,64}(?![0-9A-Za-z])")


def _text_shape(text: str, service: Service) -> str:
    """The service's name and instance, its two ports as whole numbers, and each distinct digest replaced,
    each by a placeholder of its own: a one-to-one renaming of scalar words."""
    text = _rename(text, service)
    for i, port in enumerate((service.ports.http, service.ports.metrics)):
        text = re.sub(rf"(?<![0-9A-Za-z.]){port}(?![0-9A-Za-z.])", f"\x00port{i}\x00", text)
    seen: dict[str, str] = {}
    return _DIGEST.sub(lambda m: seen.setdefault(m.group(0), f"\x00digest{len(seen)}\x00"), text)


def group_by_text(texts: dict[str, str], services: list[Service]) -> list[list[str]]:
    """The files of `texts` (path -> text) in groups that yamllint judges alike, in the order of `texts`."""
    owners = _owners(list(texts), services)
    groups: dict[str, list[str]] = {}
    for file, text in texts.items():
        service = owners.get(file)
        groups.setdefault(file if service is None else _text_shape(text, service), []).append(file)
    return list(groups.values())
