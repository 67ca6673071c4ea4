"""Credentials in text, recognised by their format or by the name they are stored under.

Pure text analysis: the spec scan (stackgen.resolve.secrets) applies it to every string of a spec, and
diagnostics mask what it recognises in messages that quote input.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache

# Known formats: the value alone proves a credential, whatever the field or key is called. The prefixes are
# distinctive enough to be matched inside a word too (a token glued to other text is still a token), except
# AWS's, whose letters-and-digits shape also occurs inside long upper-case names.
_FORMATS: list[tuple[str, re.Pattern[str]]] = [
    # Each pattern spans the whole credential, so `redact` can mask it: the PEM block to its END line.
    ("a PEM private key (-----BEGIN ... PRIVATE KEY-----)",
     re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY-----|.*)", re.DOTALL)),
    ("a Slack webhook URL (https://hooks.slack.com/services/...)",
     re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9][A-Za-z0-9/_+-]*", re.IGNORECASE)),
    ("a Slack token (xox?-...)", re.compile(r"xox[abprs]-[A-Za-z0-9-]{10,}")),
    ("a Slack app token (xapp-...)", re.compile(r"xapp-\d-[A-Za-z0-9-]{10,}")),
    ("a GitHub token (gh?_...)", re.compile(r"gh[pousr]_[A-Za-z0-9]{30,}")),
    ("a GitHub token (github_pat_...)", re.compile(r"github_pat_[A-Za-z0-9_]{22,}")),
    ("a GitLab token (glpat-...)", re.compile(r"glpat-[A-Za-z0-9_-]{20,}")),
    ("an AWS access key id (AKIA... or ASIA...)", re.compile(r"(?<![A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![A-Za-z0-9])")),
    ("a Google API key (AIza...)", re.compile(r"AIza[0-9A-Za-z_-]{35}")),
    ("a Stripe key (sk_live_...)", re.compile(r"[rs]k_live_[0-9A-Za-z]{16,}")),
    ("a JWT (eyJ...)", re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")),
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


def find_in_tokens(tokens: list[str], pair: bool) -> Iterator[tuple[int, str]]:
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
