"""Small typed values shared by the spec models: durations, matchers, names, secret references.

Each type validates on construction, so a bad value is reported at its YAML position by the
loader instead of surfacing later as a broken PromQL expression or Alertmanager field.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetCoreSchemaHandler, model_validator
from pydantic_core import core_schema


class StrictModel(BaseModel):
    """Base of every spec model: unknown keys are errors, values are immutable and not coerced."""

    # defer_build: the schema is built once, on first validation of the root Spec, instead of once per
    # model class at import (which cost ~0.2 s of every cold `stackgen` run).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, populate_by_name=False, defer_build=True)


# --- durations ------------------------------------------------------------------------------

_DURATION_UNITS_MS = {"y": 365 * 86_400_000, "w": 7 * 86_400_000, "d": 86_400_000, "h": 3_600_000,
                      "m": 60_000, "s": 1000, "ms": 1}
_DURATION_RE = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
DURATION_PATTERN = r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$"


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


class Matcher(str):
    """One PromQL/Alertmanager label matcher written as `label="value"` or `label=~"regex"`."""

    label: str
    op: str
    value: str

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
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"invalid regular expression in matcher {raw!r}: {exc}") from None
        out = cls(f'{label}{op}"{value}"')
        out.label, out.op, out.value = label, op, value
        return out

    def matches(self, value: str) -> bool:
        """Whether a label value satisfies this matcher (anchored, as in Prometheus)."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = re.fullmatch(self.value, value) is not None
        return hit if self.op == "=~" else not hit

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.parse,
            json_schema_input_schema=core_schema.str_schema(pattern=_MATCHER_RE.pattern),
            serialization=core_schema.to_string_ser_schema(),
        )


# --- secrets --------------------------------------------------------------------------------

class SecretRef(StrictModel):
    """Where a secret lives: a file mounted at run time, or an environment variable.

    The value itself never enters the spec or generated/ (which is committed).
    """

    file: str | None = Field(None, description="path of a file holding the secret, as the consumer sees it")
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


def _templated_text(value: str) -> str:
    from stackgen.gotemplate import check_template

    check_template(value)
    return value


AlertText = Annotated[str, Field(min_length=1), AfterValidator(_templated_text)]


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
