"""Jinja2 templates for text formats without an emitter (the Logstash pipeline).

templates/ at the repository root is linked as stackgen/templates, so it is the data package
`stackgen.templates` both in a checkout and in an installed wheel.
"""

from __future__ import annotations

import importlib.resources
from functools import cache

import jinja2


def logstash_string(value: str) -> str:
    """A Logstash double-quoted string; JSON escaping is a subset Logstash reads back identically."""
    import json

    return json.dumps(value)


def _template_text(name: str) -> str:
    return importlib.resources.files("stackgen.templates").joinpath(name).read_text(encoding="utf-8")


@cache
def template(name: str) -> jinja2.Template:
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["q"] = logstash_string
    return env.from_string(_template_text(name))
