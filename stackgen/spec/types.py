"""Small typed values shared by the spec models: durations, matchers, names, secret references.

Each type validates on construction, so a bad value is reported at its YAML position by the
loader instead of surfacing later as a broken PromQL expression or Alertmanager field.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
import urllib.parse
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, GetCoreSchemaHandler, model_validator
from pydantic_core import core_schema

from stackgen.parsers.regex import regex_fullmatch, regex_problem


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are immutable and not coerced."""

    # defer_build: the schema is built once, on first validation of the root Spec, instead of once per
    # model class at import, which every cold `stackgen` run paid for (bench/results/notes.md).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=False, defer_build=True)


# --- durations ------------------------------------------------------------------------------

_DURATION_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
                      "m": 60_000, "s": 1000, "ms": 1}
_DURATION_RE = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
DURATION_PATTERN = r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$"
# Go's time.Duration (Prometheus, Alertmanager) overflows at ~292 years and Kubernetes' int32 seconds at
# ~68; nothing a monitoring stack waits for is longer than a decade.
MAX_DURATION_MS = 10 * _DURATION_UNITS_MS["y"]


class Duration(int):
    """A Prometheus duration (`30s`, `5m`, `1h30m`), held as milliseconds.

    Printed back in canonical Prometheus form, so `90s` in the spec renders as `1m30s`
    everywhere and two spellings of one duration give identical output.
    """

    @classmethod
    def parse(cls, value: Any) -> Duration:
        if isinstance(value, Duration):
            return value
        if not isinstance(value, str):
            raise ValueError(f"a duration must be a string such as '30s' or '5m', not {type(value).__name__}")
        match = _DURATION_RE.match(value)
        if not value or not match:
            raise ValueError(f"invalid duration {value!r}: use Prometheus units y, w, d, h, m, s, ms (e.g. '5m', '1h30m')")
        units = ["y", "w", "d", "h", "m", "s", "ms"]
        total = sum(int(match.group(2 * i + 2) or 0) * _DURATION_UNITS_MS[u] for i, u in enumerate(units))
        if total > MAX_DURATION_MS:
            raise ValueError(f"duration {value!r} is too long: at most 10y (3650d)")
        return cls(total)

    @property
    def seconds(self) -> float:
        return int(self) / 1000

    def __str__(self) -> str:
        if self == 0:
            return "0s"
        rest, parts = int(self), []
        for unit in ("d", "h", "m", "s", "ms"):  # y and w are ambiguous to readers; days are not
            size = _DURATION_UNITS_MS[unit]
            if rest >= size:
                parts.append(f"{rest // size}{unit}")
                rest %= size
        return "".join(parts)

    def __repr__(self) -> str:
        return f"Duration({str(self)!r})"

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            json_schema_input_schema=core_schema.str_schema(pattern=DURATION_PATTERN),
            serialization=core_schema.to_string_ser_schema(),
        )


def seconds(value: str) -> Duration:
    return Duration.parse(value)


def _positive(value: Duration) -> Duration:
    if value <= 0:
        raise ValueError("must be longer than 0s")
    return value


# Ranges, intervals and timeouts: Prometheus rejects a zero range (`[0s]`), Alertmanager a zero
# group or repeat interval, and a zero scrape or evaluation interval silently becomes the default.
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]


# --- names ----------------------------------------------------------------------------------

MetricName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
ServiceName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,51}[a-z0-9]$")]
AlertName = Annotated[
    str, Field(pattern=r"^[A-Z][a-zA-Z0-9]*$", description="CamelCase, as in the monitoring mixins")
]
Severity = Literal["critical", "warning", "info"]
Port = Annotated[int, Field(ge=1, le=65535)]


# --- label matchers -------------------------------------------------------------------------

_MATCHER_RE = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$')
# The escapes PromQL and Alertmanager both read, and read alike; PromQL rejects `\d` outright and
# Alertmanager keeps it, so any other escape means different things to the two tools.
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
# Raw control characters, surrogates and line separators: PromQL ends a string at a raw newline.
_UNREADABLE = frozenset({"Cc", "Cs", "Zl", "Zp"})


def _shown(char: str) -> str:
    return char if char.isprintable() else f"U+{ord(char):04X}"


def _unquote(body: str, label: str, op: str) -> str:
    """The value a matcher's quoted text stands for, as Prometheus and Alertmanager read it."""
    out, i = [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1]  # _MATCHER_RE only lets a backslash through with a character after it
            if escaped not in _ESCAPES:
                shown = _shown(escaped)
                if op in ("=~", "!~") and (problem := regex_problem("\\" + escaped)):
                    raise ValueError(f"invalid regular expression in matcher {label}{op}\"...\" "
                                     f"(Prometheus and Alertmanager use RE2 syntax): {problem}")
                use = "to pass \\" + shown + " to the regular expression" if op in ("=~", "!~") \
                    else "for a backslash followed by " + shown
                raise ValueError(f"unknown escape \\{shown} in the value of matcher {label}{op}\"...\": "
                                 f"Prometheus and Alertmanager read only \\\\, \\\" and \\n here; "
                                 f"write \\\\{shown} {use}")
            out.append(_ESCAPES[escaped])
            i += 2
            continue
        if unicodedata.category(char) in _UNREADABLE:
            raise ValueError(f"the value of matcher {label}{op}\"...\" contains the control character "
                             f"{_shown(char)}: write a newline as \\n, leave other control characters out")
        out.append(char)
        i += 1
    return "".join(out)


class Matcher(str):
    """One PromQL/Alertmanager label matcher written as `label="value"` or `label=~"regex"`.

    `value` is the text between the quotes, re-emitted as written; `unquoted` is what it stands for
    (the label value, or the regular expression, RE2 syntax as in Prometheus and Alertmanager).
    """

    label: str
    op: str
    value: str
    unquoted: str

    @classmethod
    def parse(cls, raw: Any) -> Matcher:
        if isinstance(raw, Matcher):
            return raw
        if not isinstance(raw, str):
            raise ValueError('a matcher is a string such as \'severity="critical"\'')
        match = _MATCHER_RE.match(raw)
        if not match:
            raise ValueError(f"invalid matcher {raw!r}: write label=\"value\", label!=\"value\", "
                             "label=~\"regex\" or label!~\"regex\"")
        label, op, value = match.groups()
        unquoted = _unquote(value, label, op)
        if op in ("=~", "!~") and (problem := regex_problem(unquoted)):
            raise ValueError(f"invalid regular expression in matcher {label}{op}\"...\" "
                             f"(Prometheus and Alertmanager use RE2 syntax): {problem}")
        out = cls(f'{label}{op}"{value}"')
        out.label, out.op, out.value, out.unquoted = label, op, value, unquoted
        return out

    def matches(self, value: str) -> bool:
        """Whether a label value satisfies this matcher (anchored, as in Prometheus)."""
        if self.op == "=":
            return value == self.unquoted
        if self.op == "!=":
            return value != self.unquoted
        hit = regex_fullmatch(self.unquoted, value)
        return hit if self.op == "=~" else not hit

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            json_schema_input_schema=core_schema.str_schema(pattern=_MATCHER_RE.pattern),
            serialization=core_schema.to_string_ser_schema(),
        )


# --- hosts, URLs, paths, counts --------------------------------------------------------------

_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# Kubernetes stores replicas as int32; ten thousand pods of one service is a typo, not a plan.
MAX_REPLICAS = 10_000


def host_problem(host: str) -> str | None:
    """Why `host` is not an RFC 1123 host name or an IP address, or None when it is one.

    An IPv6 address is bracketed (`[::1]`), as it must be before a `:port`.
    """
    try:
        if host.startswith("[") and host.endswith("]"):
            return None if ipaddress.ip_address(host[1:-1]).version == 6 else f"{host!r}: only IPv6 is bracketed"
        ipaddress.IPv4Address(host)
        return None
    except ValueError:
        pass
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.fullmatch(label) for label in labels):
        return (f"{host!r} is not a host name: dot-separated labels of letters, digits and '-' "
                "(not first or last), at most 63 characters each")
    return None


def _host_name(host: str) -> str:
    if problem := host_problem(host):
        raise ValueError(problem)
    return host


def _single_label_host(host: str) -> str:
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", host):
        raise ValueError(f"{host!r} is not a host name the stack's containers can use: lower-case letters, "
                         "digits and '-' (not first or last)")
    return host


def http_url(url: str, *, templated: bool = False) -> str:
    """Go's url.Parse (Alertmanager, the OTLP exporters) rejects what this rejects; so do browsers.

    A templated URL (an alert annotation) may leave its host to the template.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"{url!r} is not an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError(f"{url!r} names no host")
    host = parts.netloc.rpartition("@")[2]
    host = host.rpartition(":")[0] if parts.port is not None or host.endswith(":") else host
    if templated and "{{" in parts.netloc:
        return url
    if problem := host_problem(host):
        raise ValueError(f"the host of {url!r}: {problem}")
    if port == 0:
        raise ValueError(f"{url!r} names port 0")
    if _BAD_PERCENT.search(url):
        raise ValueError(f"{url!r} has a '%' that is not a %XX escape")
    return url


def host_port(value: str) -> str:
    host, colon, port = value.rpartition(":")
    if not colon:
        raise ValueError(f"{value!r} names no port: write host:port")
    if problem := host_problem(host):
        raise ValueError(problem)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError(f"port {port!r} of {value!r} is not between 1 and 65535")
    return value


def clean_path(path: str, *, folder: bool = False) -> str:
    """A file path (or an absolute folder) with nothing to resolve: no '.' or '..' segments, no '//', no trailing '/'."""
    if not path or any(unicodedata.category(c) in _UNREADABLE for c in path):
        raise ValueError(f"{path!r} is not a usable path (empty, or a control character)")
    if folder and not path.startswith("/"):
        raise ValueError(f"{path!r} is not an absolute path")
    segments = path.removeprefix("/").split("/")
    if path.endswith("/"):
        raise ValueError(f"{path!r}: drop the trailing '/'" if folder else
                         f"{path!r} names a folder; name the file (no trailing '/')")
    if any(segment in ("", ".", "..") for segment in segments):
        raise ValueError(f"{path!r} is not a normalized path: no '.' or '..' segments, no '//'")
    return path


def clean_folder(path: str) -> str:
    return clean_path(path, folder=True)


def _replicas(count: int) -> int:
    if count > MAX_REPLICAS:
        raise ValueError(f"{count} replicas is more than the {MAX_REPLICAS} stackgen accepts")
    return count


# RFC 1123 host names and IP addresses.
HostName = Annotated[str, AfterValidator(_host_name)]
# Names of the stack's own containers (compose service names, Kubernetes DNS labels).
ContainerHost = Annotated[str, AfterValidator(_single_label_host)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://\S+$"), AfterValidator(lambda url: http_url(url))]
CleanPath = Annotated[str, AfterValidator(clean_path)]
Replicas = Annotated[int, Field(ge=1), AfterValidator(_replicas)]


# --- secrets --------------------------------------------------------------------------------

class SecretRef(StrictModel):
    """Where a secret lives: a file mounted at run time, or an environment variable.

    The value itself never enters the spec or generated/ (which is committed).
    """

    file: CleanPath | None = Field(None, description="path of a file holding the secret, as the consumer sees it")
    env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$", description="name of an environment variable")

    @model_validator(mode="before")
    @classmethod
    def _reject_literal(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError("a literal secret is not allowed here (generated/ is committed): "
                             "reference it as {file: /run/secrets/NAME} or {env: VARIABLE}")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.file is None) == (self.env is None):
            raise ValueError("a secret reference names exactly one of 'file' or 'env'")
        return self


def _file_only_literal(data: Any) -> Any:
    # Runs before SecretRef's own literal check, so the message offers only the form the field accepts.
    if isinstance(data, str):
        raise ValueError("a literal secret is not allowed here (generated/ is committed): "
                         "reference it as {file: /run/secrets/NAME} (Alertmanager reads secrets from files only)")
    return data


# A secret that Alertmanager reads: it has `*_file` settings and no way to read an environment variable.
FileSecretRef = Annotated[SecretRef, BeforeValidator(_file_only_literal)]


def _templated_text(value: str) -> str:
    from stackgen.parsers.gotemplate import check_template

    check_template(value)
    return value


def static_text(value: str) -> str:
    from stackgen.parsers.gotemplate import check_static

    check_static(value)
    return value


AlertText = Annotated[str, Field(min_length=1), AfterValidator(_templated_text)]
# Prometheus expands every annotation value and every alert label value as a Go template: annotations
# keep to the subset the generated tests can predict, labels stay literal (routing tests read them).
AnnotationText = Annotated[str, AfterValidator(_templated_text)]
AlertUrl = Annotated[
    str, Field(pattern=r"^https?://\S+$"), AfterValidator(_templated_text),
    AfterValidator(lambda url: http_url(url, templated=True)),
]
StaticText = Annotated[str, AfterValidator(static_text)]


# Annotations every alert gets from its own fields or from stackgen; a user annotation may not shadow them.
RESERVED_ANNOTATIONS = {
    "summary": "has its own field",
    "description": "has its own field",
    "runbook_url": "has its own field",
    "dashboard_url": "is set by stackgen from grafana.url and the dashboard uid",
}


def reject_reserved(kind: str, value: dict[str, str], reserved: dict[str, str]) -> dict[str, str]:
    """Validator body shared by alert kinds and SLO tiers: refuse keys stackgen owns, saying why."""
    for key, why in reserved.items():
        if key in value:
            raise ValueError(f"{kind} {key!r} {why}")
    return value
