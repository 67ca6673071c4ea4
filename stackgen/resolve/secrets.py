"""Literal credentials anywhere in a validated spec, found by value and by the name they are stored under.

Everything in the spec can reach `generated/`, which is committed, so the scan walks every string
of the validated model generically (a field added later is covered without touching this module).
`SecretRef` values hold a file path or a variable name, never the secret, so their names say nothing;
their values are still checked for credential formats (a token pasted where the path belongs).

Messages say what was found and where it may live instead; they never repeat the value.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from stackgen.diagnostics import Diagnostic
from stackgen.parsers.credentials import find_in_text, find_in_tokens, find_under_name
from stackgen.spec.load import Path_, Positions
from stackgen.spec.types import Matcher, SecretRef


@dataclass(frozen=True)
class Finding:
    """One literal credential: where it sits in the spec and what it is (never the value itself)."""

    path: Path_
    what: str



@lru_cache(maxsize=65536)
def _find_in_string(value: str, name: str | None, matcher: bool) -> str | None:
    """Cached: a large spec repeats the same annotations, matchers and names in every service."""
    if what := find_in_text(value):
        return what
    if name is not None and (what := find_under_name(name, value)):
        return what
    if "=" in value and not matcher:
        for _, what in find_in_tokens(value.split(), pair=False):
            return what
    return None


def _fields(model: type[BaseModel]) -> list[tuple[str, str]]:
    """(attribute, YAML key) of each field of a model class."""
    if (fields := _FIELDS.get(model)) is None:
        fields = _FIELDS[model] = [(name, field.alias or name) for name, field in model.model_fields.items()]
    return fields


_FIELDS: dict[type[BaseModel], list[tuple[str, str]]] = {}


def _walk(value: Any, path: Path_, name: str | None, unnamed: frozenset[Path_]) -> Iterator[Finding]:
    if isinstance(value, str):
        if what := _find_in_string(str(value), name, isinstance(value, Matcher)):
            yield Finding(path, what)
    elif isinstance(value, SecretRef):
        for key in ("file", "env"):
            if (reference := getattr(value, key)) is not None and (what := find_in_text(reference)):
                yield Finding((*path, key), what)
    elif isinstance(value, BaseModel):
        for attribute, key in _fields(type(value)):
            yield from _walk(getattr(value, attribute), (*path, key), None, unnamed)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (what := find_in_text(key)):
                yield Finding((*path, key), what)
            named = isinstance(key, str) and (*path, key) not in unnamed
            yield from _walk(item, (*path, key), key if named else None, unnamed)
    elif isinstance(value, list | tuple):
        yield from _walk_list(value, path, unnamed)


def _walk_list(items: list[Any] | tuple[Any, ...], path: Path_, unnamed: frozenset[Path_]) -> Iterator[Finding]:
    found: dict[int, list[Finding]] = {}
    for i, item in enumerate(items):
        if findings := list(_walk(item, (*path, i), None, unnamed)):
            found[i] = findings
    # An argv spreads a flag and its value over two items: pair them across the whole list.
    if any(isinstance(item, str) and "-" in item for item in items) and all(
            isinstance(item, str) and not isinstance(item, Matcher) for item in items):
        owners = [i for i, item in enumerate(items) for _ in item.split()]
        tokens = [token for item in items for token in item.split()]
        for t, what in find_in_tokens(tokens, pair=True):
            found.setdefault(owners[t], [Finding((*path, owners[t]), what)])
    for i in sorted(found):
        yield from found[i]


def _not_secret(spec: BaseModel) -> frozenset[Path_]:
    """The env entries a service lists in `not_secret`: their names are not judged, their values still are."""
    return frozenset(("services", i, "env", key) for i, service in enumerate(getattr(spec, "services", ()))
                     for key in service.not_secret)


def scan(spec: BaseModel) -> list[Finding]:
    """Every literal credential in a validated spec, in document order."""
    return list(_walk(spec, (), None, _not_secret(spec)))


def remedy(path: Path_, what: str) -> str:
    """Where the credential belongs instead: the reference form the field takes, or removal."""
    if len(path) >= 3 and path[0] == "services" and path[2] == "env":
        if len(path) == 4 and what.endswith(" names a secret"):  # judged by its name alone: may be a false positive
            return (f"move it to secret_env as {{file: ...}} or {{env: ...}}, or, if {path[3]} is not a credential, "
                    "list it in the service's not_secret")
        return "move it to secret_env as {file: ...} or {env: ...}"
    if len(path) >= 3 and path[0] == "services" and path[2] == "command":
        return "pass it as an environment variable from secret_env ({file: ...} or {env: ...}), not as an argument"
    if path[:2] == ("alertmanager", "receivers") and "webhook" in path:
        if "Slack webhook" in what:
            return "use a slack receiver instead: its api_url takes {file: /run/secrets/NAME}"
        return "a webhook url cannot take a secret reference (Alertmanager 0.25 has no url_file): remove the credential"
    if path[-1:] in (("file",), ("env",)):
        return "a secret reference names the file or variable that holds the secret: put the secret in that file"
    if path == ("grafana", "url"):
        return "grafana.url is copied into every alert's dashboard_url and cannot take a secret reference: remove the credential"
    return "this field cannot take a secret reference ({file: ...} or {env: ...}): remove the credential"


def check_secrets(spec: BaseModel, positions: Positions) -> Iterator[Diagnostic]:
    """One located problem per literal credential, and per `not_secret` entry that names no env key."""
    for i, service in enumerate(getattr(spec, "services", ())):
        for j, key in enumerate(service.not_secret):
            if key not in service.env:
                yield positions.problem(("services", i, "not_secret", j),
                                        f"{key} is not a key of env (env: {', '.join(service.env) or 'empty'}); "
                                        "not_secret only exempts env keys from the secret-name rule")
    for finding in scan(spec):
        yield positions.problem(finding.path, f"{finding.what}: a literal secret is not allowed here "
                                              f"(generated/ is committed); {remedy(finding.path, finding.what)}")
