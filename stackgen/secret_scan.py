"""Literal credentials anywhere in a validated spec, found by value and by the name they are stored under.

Everything in the spec can reach `generated/`, which is committed, so the scan walks every string
of the validated model generically (a field added later is covered without touching this module).
Only `SecretRef` values are skipped: they hold a file path or a variable name, never the secret.

Messages say what was found and where it may live instead; they never repeat the value.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

from stackgen.errors import Problem
from stackgen.spec.load import Path_, Positions
from stackgen.spec.types import Matcher, SecretRef

# Known formats: the value alone proves a credential, whatever the field or key is called.
_FORMATS: list[tuple[str, re.Pattern[str]]] = [
    # Each pattern spans the whole credential, so `redact` can mask it: the PEM block to its END line.
    ("a PEM private key (-----BEGIN ... PRIVATE KEY-----)",
     re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)", re.DOTALL)),
    ("a Slack webhook URL (https://hooks.slack.com/services/...)",
     re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9][A-Za-z0-9/_+-]*", re.IGNORECASE)),
    ("a Slack token (xox?-...)", re.compile(r"(?<![A-Za-z0-9])xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Slack app token (xapp-...)", re.compile(r"(?<![A-Za-z0-9])xapp-\d-[A-Za-z0-9-]{10,}")),
    ("a GitHub token (gh?_...)", re.compile(r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}")),
    ("a GitHub token (github_pat_...)", re.compile(r"(?<![A-Za-z0-9])github_pat_[A-Za-z0-9_]{22,}")),
    ("a GitLab token (glpat-...)", re.compile(r"(?<![A-Za-z0-9])glpat-[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id (AKIA... or ASIA...)", re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])")),
    ("a Google API key (AIza...)", re.compile(r"(?<![A-Za-z0-9])AIza[0-9A-Za-z_-]{35}")),
    ("a Stripe key (sk_live_...)", re.compile(r"(?<![A-Za-z0-9])[rs]k_live_[0-9A-Za-z]{16,}")),
    ("a JWT (eyJ...)", re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
]
# Greedy up to the last '@' of the authority: an unencoded '@' in a password still ends at the host.
# The lookbehind starts a scheme only at the start of a word: a long run of letters is not tried from each one.
_URL_USERINFO = re.compile(r"(?<![A-Za-z0-9+.-])[A-Za-z][A-Za-z0-9+.-]*://(?P<userinfo>[^\s/?#]*)@(?P<host>[A-Za-z0-9.:\[\]-]*)")
_AUTH_HEADER = re.compile(r"\b(?:Bearer|Basic|Token)\s+(?P<credential>[A-Za-z0-9._~+/=-]{16,})")
_FLAG = re.compile(r"^-{1,2}(?P<name>[A-Za-z][A-Za-z0-9_.-]*)(?:=(?P<value>.*))?$", re.DOTALL)
_ASSIGNMENT = re.compile(r"^(?P<name>[A-Z_][A-Z0-9_]*)=(?P<value>.*)$", re.DOTALL)
# Every text a detector below can match contains one of these: one search rules out most strings.
_TRIGGER = re.compile(r"PRIVATE KEY|(?i:hooks\.slack\.com)|xox[abprs]-|xapp-|gh[pousr]_|github_pat_|glpat-|AKIA|ASIA|AIza"
                      r"|k_live_|eyJ|://|Bearer|Basic|Token")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")

# A name whose last word is one of these holds a secret, so any non-empty literal under it is one.
_SECRET_LAST_WORDS = ("PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "TOKEN", "APIKEY", "CREDENTIAL", "CREDENTIALS")
_SECRET_KEY_QUALIFIERS = {"API", "PRIVATE", "SECRET", "ACCESS", "SIGNING", "ENCRYPTION", "CLIENT", "AUTH", "MASTER"}
# A name mentioning one of these may hold a secret: its value is one when it looks random.
_HINT_WORDS = ("PASS", "PWD", "SECRET", "TOKEN", "APIKEY", "CREDENTIAL", "KEY", "AUTH")

# Entropy alone cannot tell a 20-character key from a versioned name ("release-2024-06-01-build"
# scores 3.7 bits per character, a random base62 key of that length about 4.2), so the shape decides
# first: one run of key characters with digits, mixed case or hex, and no word separators unless mixed case.
ENTROPY_THRESHOLD = 3.5
HEX_ENTROPY_THRESHOLD = 3.0  # 16 symbols: a random 32-digit hex key scores about 3.8
ENTROPY_MIN_LENGTH = 16
_KEY_CHARS = re.compile(r"[A-Za-z0-9+/=_-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(frozen=True)
class Finding:
    """One literal credential: where it sits in the spec and what it is (never the value itself)."""

    path: Path_
    what: str


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def looks_random(value: str) -> bool:
    """A single key-like token that reads as random rather than as words, a version or a path."""
    if len(value) < ENTROPY_MIN_LENGTH or not _KEY_CHARS.fullmatch(value) or not any(c.isdigit() for c in value):
        return False
    if _HEX.fullmatch(value):
        return any(c.isalpha() for c in value) and shannon_entropy(value) >= HEX_ENTROPY_THRESHOLD
    mixed_case = any(c.isupper() for c in value) and any(c.islower() for c in value)
    if not mixed_case and any(c in "-_" for c in value):
        return False
    return shannon_entropy(value) >= ENTROPY_THRESHOLD


@lru_cache(maxsize=4096)
def name_kind(name: str) -> str | None:
    """'secret' when a name says it holds a secret, 'hint' when it may, None otherwise.

    By last word, so `DB_PASSWORD` and `apiToken` are secrets while `MAX_TOKENS`, `TOKEN_TYPE` and
    `PASSWORD_FILE` (a path to the secret, the recommended form) are not.
    """
    words = [w.upper() for w in _WORDS.findall(name)]
    if not words:
        return None
    last = words[-1]
    if (last.endswith(_SECRET_LAST_WORDS) or last in ("PASS", "PRIVATEKEY")
            or (last == "PWD" and len(words) > 1)  # PWD alone is the shell's working directory
            or (last == "KEY" and len(words) > 1 and words[-2] in _SECRET_KEY_QUALIFIERS)):
        return "secret"
    if any(hint in word for word in words for hint in _HINT_WORDS):
        return "hint"
    return None


def _mask_url(match: re.Match[str]) -> str:
    scheme = match.group(0).split("://", 1)[0]
    return f"{scheme}://***:***@{match.group('host')}"


def find_in_text(text: str) -> str | None:
    """What credential the text carries by its format alone, or None."""
    if not _TRIGGER.search(text):
        return None
    for what, pattern in _FORMATS:
        if pattern.search(text):
            return what
    for match in _URL_USERINFO.finditer(text):
        user, sep, password = match.group("userinfo").partition(":")
        if sep and password:
            return f"a password in a URL ({_mask_url(match)})"
        # A user name alone is an identity, not a credential, unless it is a token used as one.
        if looks_random(user):
            return f"a token as the user name of a URL ({_mask_url(match)})"
    for match in _AUTH_HEADER.finditer(text):
        if looks_random(match.group("credential")):
            return "an Authorization header credential"
    return None


def redact(text: str) -> str:
    """The text with every credential `find_in_text` recognises masked, for messages that quote input."""
    if not _TRIGGER.search(text):
        return text
    for _, pattern in _FORMATS:
        text = pattern.sub("***", text)

    def url(match: re.Match[str]) -> str:
        user, sep, password = match.group("userinfo").partition(":")
        return _mask_url(match) if (sep and password) or looks_random(user) else match.group(0)

    text = _URL_USERINFO.sub(url, text)
    return _AUTH_HEADER.sub(lambda m: m.group(0).replace(m.group("credential"), "***")
                            if looks_random(m.group("credential")) else m.group(0), text)


def find_under_name(name: str, value: str, shown: str | None = None) -> str | None:
    """What credential the value is, given the name it is stored under (`shown` as the user wrote it), or None."""
    kind = name_kind(name)
    if kind == "secret" and value.strip():
        return f"{shown or name} names a secret"
    if kind == "hint" and looks_random(value):
        return f"a random-looking value under {shown or name}"
    return None


def _find_in_tokens(tokens: list[str], pair: bool) -> Iterator[tuple[int, str]]:
    """Command-line shaped text, `--password=X`, `DB_PASSWORD=X` and with `pair` `--password X`, by token index."""
    for i, token in enumerate(tokens):
        if (flag := _FLAG.match(token)) is not None:
            value, at = flag.group("value"), i
            if value is None and pair and i + 1 < len(tokens) and not tokens[i + 1].startswith("-"):
                value, at = tokens[i + 1], i + 1
            shown = token.split("=", 1)[0]
            if value is not None and (what := find_under_name(flag.group("name"), value, shown)):
                yield at, what
        elif (assignment := _ASSIGNMENT.match(token)) is not None:
            if what := find_under_name(assignment.group("name"), assignment.group("value")):
                yield i, what


@lru_cache(maxsize=65536)
def _find_in_string(value: str, name: str | None, matcher: bool) -> str | None:
    """Cached: a large spec repeats the same annotations, matchers and names in every service."""
    if what := find_in_text(value):
        return what
    if name is not None and (what := find_under_name(name, value)):
        return what
    if "=" in value and not matcher:
        for _, what in _find_in_tokens(value.split(), pair=False):
            return what
    return None


def _fields(model: type[BaseModel]) -> list[tuple[str, str]]:
    """(attribute, YAML key) of each field of a model class."""
    if (fields := _FIELDS.get(model)) is None:
        fields = _FIELDS[model] = [(name, field.alias or name) for name, field in model.model_fields.items()]
    return fields


_FIELDS: dict[type[BaseModel], list[tuple[str, str]]] = {}


def _walk(value: Any, path: Path_, name: str | None) -> Iterator[Finding]:
    if isinstance(value, str):
        if what := _find_in_string(str(value), name, isinstance(value, Matcher)):
            yield Finding(path, what)
    elif isinstance(value, SecretRef):
        return
    elif isinstance(value, BaseModel):
        for attribute, key in _fields(type(value)):
            yield from _walk(getattr(value, attribute), (*path, key), None)
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (what := find_in_text(key)):
                yield Finding((*path, key), what)
            yield from _walk(item, (*path, key), key if isinstance(key, str) else None)
    elif isinstance(value, list | tuple):
        yield from _walk_list(value, path)


def _walk_list(items: list[Any] | tuple[Any, ...], path: Path_) -> Iterator[Finding]:
    found: dict[int, list[Finding]] = {}
    for i, item in enumerate(items):
        if findings := list(_walk(item, (*path, i), None)):
            found[i] = findings
    # An argv spreads a flag and its value over two items: pair them across the whole list.
    if any(isinstance(item, str) and "-" in item for item in items) and all(
            isinstance(item, str) and not isinstance(item, Matcher) for item in items):
        owners = [i for i, item in enumerate(items) for _ in item.split()]
        tokens = [token for item in items for token in item.split()]
        for t, what in _find_in_tokens(tokens, pair=True):
            found.setdefault(owners[t], [Finding((*path, owners[t]), what)])
    for i in sorted(found):
        yield from found[i]


def scan(spec: BaseModel) -> list[Finding]:
    """Every literal credential in a validated spec, in document order."""
    return list(_walk(spec, (), None))


def remedy(path: Path_, what: str) -> str:
    """Where the credential belongs instead: the reference form the field takes, or removal."""
    if len(path) >= 3 and path[0] == "services" and path[2] == "env":
        return "move it to secret_env as {file: ...} or {env: ...}"
    if len(path) >= 3 and path[0] == "services" and path[2] == "command":
        return "pass it as an environment variable from secret_env ({file: ...} or {env: ...}), not as an argument"
    if path[:2] == ("alertmanager", "receivers") and "webhook" in path:
        if "Slack webhook" in what:
            return "use a slack receiver instead: its api_url takes {file: /run/secrets/NAME}"
        return "a webhook url cannot take a secret reference (Alertmanager 0.25 has no url_file): remove the credential"
    if path == ("grafana", "url"):
        return "grafana.url is copied into every alert's dashboard_url and cannot take a secret reference: remove the credential"
    return "this field cannot take a secret reference ({file: ...} or {env: ...}): remove the credential"


def check_secrets(spec: BaseModel, positions: Positions) -> Iterator[Problem]:
    """One located problem per literal credential."""
    for finding in scan(spec):
        yield positions.problem(finding.path, f"{finding.what}: a literal secret is not allowed here "
                                              f"(generated/ is committed); {remedy(finding.path, finding.what)}")
