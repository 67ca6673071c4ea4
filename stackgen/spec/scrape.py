"""How Prometheus scrapes one service: timeout, scheme, TLS, credentials, relabeling, extra target labels.

Everything here is checked against what Prometheus 2.42 accepts (`promtool check config` proves the
rendered job in `stackgen check`); credentials are file references, since prometheus.yml is committed.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from stackgen.parsers.regex import regex_fullmatch, regex_problem
from stackgen.spec.types import CleanPath, HostName, LabelName, PositiveDuration, SecretRef, StrictModel

# Labels stackgen puts on every scraped series: routing, the generated tests and the dashboards read them.
STACKGEN_TARGET_LABELS = ("service", "team")
# Prometheus sets these itself; a static label of the same name would be overwritten or shadow them.
RESERVED_TARGET_LABELS = ("job", "instance", *STACKGEN_TARGET_LABELS)

RelabelAction = Literal["replace", "keep", "drop", "hashmod", "labelmap", "labeldrop", "labelkeep",
                        "lowercase", "uppercase", "keepequal", "dropequal"]

# Prometheus' relabelTarget (model/relabel): a label name that may hold $1 / ${name} references.
_TEMPLATED_LABEL = re.compile(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$")

# Per action: the fields it requires and the fields it reads. Prometheus ignores (or, for some actions,
# refuses) the rest; stackgen refuses them all, so a rule says only what it does.
_REQUIRED: dict[str, frozenset[str]] = {
    "replace": frozenset({"target_label"}),
    "lowercase": frozenset({"source_labels", "target_label"}),
    "uppercase": frozenset({"source_labels", "target_label"}),
    "keep": frozenset({"source_labels"}),
    "drop": frozenset({"source_labels"}),
    "hashmod": frozenset({"source_labels", "target_label", "modulus"}),
    "labelmap": frozenset({"regex"}),
    "labeldrop": frozenset({"regex"}),
    "labelkeep": frozenset({"regex"}),
    "keepequal": frozenset({"source_labels", "target_label"}),
    "dropequal": frozenset({"source_labels", "target_label"}),
}
_ALLOWED: dict[str, frozenset[str]] = {
    "replace": frozenset({"source_labels", "separator", "regex", "target_label", "replacement"}),
    "lowercase": frozenset({"source_labels", "separator", "target_label"}),
    "uppercase": frozenset({"source_labels", "separator", "target_label"}),
    "keep": frozenset({"source_labels", "separator", "regex"}),
    "drop": frozenset({"source_labels", "separator", "regex"}),
    "hashmod": frozenset({"source_labels", "separator", "target_label", "modulus"}),
    "labelmap": frozenset({"regex", "replacement"}),
    "labeldrop": frozenset({"regex"}),
    "labelkeep": frozenset({"regex"}),
    "keepequal": frozenset({"source_labels", "target_label"}),
    "dropequal": frozenset({"source_labels", "target_label"}),
}
_OPTIONAL_FIELDS = ("source_labels", "separator", "regex", "target_label", "replacement", "modulus")


def _relabel_regex(pattern: str) -> str:
    if problem := regex_problem(pattern):
        raise ValueError(f"invalid regular expression (Prometheus uses RE2 syntax, anchored): {problem}")
    return pattern


def _file_only_literal(data: Any) -> Any:
    if isinstance(data, str):
        raise ValueError("a literal secret is not allowed here (generated/ is committed): reference it as "
                         "{file: /etc/prometheus/secrets/NAME} (Prometheus reads scrape credentials from files)")
    return data


ScrapeSecretRef = Annotated[SecretRef, BeforeValidator(_file_only_literal)]
RelabelRegex = Annotated[str, AfterValidator(_relabel_regex)]


class RelabelRule(StrictModel):
    """One Prometheus relabel_config. Each action takes only the fields it reads (see docs/spec.md)."""

    action: RelabelAction = Field("replace", description="what the rule does; the actions Prometheus 2.42 knows")
    source_labels: list[LabelName] | None = Field(
        None, min_length=1, description="labels whose values, joined by separator, the rule reads")
    separator: str | None = Field(None, description="joins the source label values (Prometheus default ';')")
    regex: RelabelRegex | None = Field(
        None, description="RE2, anchored at both ends (Prometheus default '(.*)'); checked to compile")
    target_label: str | None = Field(
        None, description="the label written: a label name ($1 and ${name} references allowed for replace)")
    replacement: str | None = Field(None, description="replace/labelmap: what is written ($1 refers to the "
                                                      "first group; Prometheus default '$1')")
    modulus: int | None = Field(None, ge=1, description="hashmod: the modulus of the hash")

    @model_validator(mode="after")
    def _fields_of_action(self) -> RelabelRule:
        given = {f for f in _OPTIONAL_FIELDS if getattr(self, f) is not None}
        if missing := sorted(_REQUIRED[self.action] - given):
            raise ValueError(f"a {self.action} rule needs {', '.join(missing)}")
        if extra := sorted(given - _ALLOWED[self.action]):
            raise ValueError(f"a {self.action} rule does not read {', '.join(extra)}: remove it")
        if self.target_label is not None:
            templated = self.action == "replace"
            pattern = _TEMPLATED_LABEL if templated else re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
            if not pattern.fullmatch(self.target_label):
                raise ValueError(f"target_label {self.target_label!r} is not a label name"
                                 + (" (with $1 or ${name} references)" if templated else ""))
        if self.action == "labelmap" and self.replacement is not None and not _TEMPLATED_LABEL.fullmatch(self.replacement):
            raise ValueError(f"labelmap replacement {self.replacement!r} is not a label name (with $1 references)")
        return self

    def rewrites(self, label: str) -> bool:
        """Whether the rule removes or overwrites `label` on the series or target it keeps."""
        if self.action in ("replace", "lowercase", "uppercase", "hashmod") and self.target_label == label:
            return True
        if self.action == "labeldrop":
            return regex_fullmatch(self.regex or "", label)
        if self.action == "labelkeep":
            return not regex_fullmatch(self.regex or "", label)
        if self.action == "labelmap":  # a mapped name equal to `label` overwrites it; only a literal one is knowable
            return self.replacement == label
        return False


def _protect_stackgen_labels(rules: list[RelabelRule]) -> list[RelabelRule]:
    for i, rule in enumerate(rules):
        for label in STACKGEN_TARGET_LABELS:
            if rule.rewrites(label):
                raise ValueError(f"rule {i} ({rule.action}) removes or overwrites the {label!r} label, which alert "
                                 "routing, the generated tests and the dashboards select on")
    return rules


RelabelRules = Annotated[list[RelabelRule], AfterValidator(_protect_stackgen_labels)]


def _absolute(path: str) -> str:
    if not path.startswith("/"):
        raise ValueError(f"{path!r} is not absolute: name the file as the Prometheus container sees it "
                         "(/etc/prometheus/secrets/...)")
    return path


AbsoluteFile = Annotated[CleanPath, AfterValidator(_absolute)]


class ScrapeTLS(StrictModel):
    ca_file: AbsoluteFile | None = Field(None, description="CA certificate(s) that verify the target")
    cert_file: AbsoluteFile | None = Field(None, description="client certificate (mutual TLS); needs key_file")
    key_file: AbsoluteFile | None = Field(None, description="client private key (mutual TLS); needs cert_file")
    server_name: HostName | None = Field(None, description="the name the target's certificate is checked against")

    @model_validator(mode="after")
    def _pair(self) -> ScrapeTLS:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (a client certificate needs its key)")
        return self


class BasicAuth(StrictModel):
    username: Annotated[str, Field(min_length=1, description="sent as written (not a secret)")]
    password: ScrapeSecretRef = Field(description="{file: PATH}: rendered as password_file")


class Authorization(StrictModel):
    type: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9-]*$")] = Field(
        "Bearer", description="the Authorization header's scheme")
    credentials: ScrapeSecretRef = Field(description="{file: PATH}: rendered as credentials_file")

    @model_validator(mode="after")
    def _not_basic(self) -> Authorization:
        if self.type.lower() == "basic":  # Prometheus refuses it too
            raise ValueError("authorization type Basic is basic_auth: use basic_auth {username, password}")
        return self


class Scrape(StrictModel):
    """The service's scrape job beyond target and path (`metrics_path`, `scrape_interval` sit on the service)."""

    timeout: PositiveDuration | None = Field(
        None, description="scrape_timeout of this job; at most its scrape interval (default: the global timeout)")
    scheme: Literal["http", "https"] = Field("http", description="how the metrics port is reached")
    tls: ScrapeTLS | None = Field(None, description="tls_config of an https scrape; files as Prometheus sees them")
    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = Field(
        None, description="an Authorization header (a bearer token) read from a file; not with basic_auth")
    labels: dict[LabelName, str] = Field(
        default_factory=dict, description="static labels added to every series of this job (not job, instance, "
                                          "service, team or __-prefixed)")
    relabel_configs: RelabelRules = Field(default_factory=list, description="relabeling of the target, before the scrape")
    metric_relabel_configs: RelabelRules = Field(
        default_factory=list, description="relabeling of every scraped series, before storage (drop a costly metric)")

    @model_validator(mode="after")
    def _consistent(self) -> Scrape:
        if self.tls is not None and self.scheme != "https":
            raise ValueError("tls applies to an https scrape: set scheme: https")
        if self.basic_auth is not None and self.authorization is not None:
            raise ValueError("basic_auth and authorization both set the Authorization header: keep one")
        for label in self.labels:
            if label in RESERVED_TARGET_LABELS or label.startswith("__"):
                raise ValueError(f"label {label!r} is set by Prometheus or stackgen, not by a static label")
        return self

    def secret_refs(self) -> list[tuple[tuple[str, ...], SecretRef]]:
        """(path below `scrape`, reference) of every credential."""
        out: list[tuple[tuple[str, ...], SecretRef]] = []
        if self.basic_auth is not None:
            out.append((("basic_auth", "password"), self.basic_auth.password))
        if self.authorization is not None:
            out.append((("authorization", "credentials"), self.authorization.credentials))
        return out

    def files(self) -> list[str]:
        """Every file Prometheus reads for this job: TLS material and credentials."""
        tls = [getattr(self.tls, f) for f in ("ca_file", "cert_file", "key_file")] if self.tls else []
        return sorted({p for p in [*tls, *(ref.file for _, ref in self.secret_refs())] if p})
