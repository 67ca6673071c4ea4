"""Jinja2 templates for text formats without an emitter (the Logstash pipeline).

templates/ at the repository root is linked as stackgen/templates, so it is the data package
`stackgen.templates` both in a checkout and in an installed wheel.

Every `{{ }}` in a template goes through a filter that quotes its value for the place it lands
(`q`: a Logstash string, `field`: a field reference, `comment`: a comment line); the environment's
finalize hook refuses any other string, so a template cannot emit a value unescaped by mistake.
"""

from __future__ import annotations

import importlib.resources
import re
from functools import cache
from typing import Any

import jinja2

from stackgen.output.quoting import logstash_comment, logstash_string

# Logstash's selector_element is `"[" [^\]\[,]+ "]"`; quotes and white space are refused too, since
# no log schema field holds them and a reader could not tell where such a name ends.
_FIELD_NAME = re.compile(r"[^\[\],\"'\s]+")


class Escaped(str):
    """Text a filter has already quoted for its place in the template."""


def _logstash_string(value: str) -> Escaped:
    return Escaped(logstash_string(value))


def _field(name: str) -> Escaped:
    if not _FIELD_NAME.fullmatch(name):
        raise ValueError(f"{name!r} cannot be a Logstash field reference")
    return Escaped(f"[{name}]")


def _comment(text: str) -> Escaped:
    return Escaped(logstash_comment(text))


def _finalize(value: Any) -> Any:
    if isinstance(value, Escaped) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise TypeError(f"template output {value!r} is not escaped: pass it through q, field or comment")


def _template_text(name: str) -> str:
    return importlib.resources.files("stackgen.templates").joinpath(name).read_text(encoding="utf-8")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=_finalize,
    )
    env.filters.update(q=_logstash_string, field=_field, comment=_comment)
    return env


@cache
def template(name: str) -> jinja2.Template:
    return environment().from_string(_template_text(name))
