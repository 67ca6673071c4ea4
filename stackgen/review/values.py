"""How model values read in the report: the spec's own spelling where it has one (`5m`, `0.05`,
`status=~"5.."`), so a reviewer sees what they would type."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from stackgen.model.promql import number, selector
from stackgen.spec.alerts import Selector
from stackgen.spec.types import Duration


def show(value: Any) -> str:
    """One value as text. Lists join with ', ', mappings as k=v, selectors as PromQL, floats as PromQL
    writes them; an empty list or mapping reads `none`."""
    match value:
        case None:
            return "none"
        case bool():
            return "true" if value else "false"
        case Duration():
            return str(value)
        case float():
            return number(value)
        case Selector():
            return selector(value.metric, value.matchers)
        case dict():
            return ", ".join(f"{k}={show(v)}" for k, v in value.items()) or "none"
        case list() | tuple():
            return ", ".join(show(v) for v in value) or "none"
        case BaseModel():
            return ", ".join(f"{k}={show(v)}" for k, v in model_values(value).items())
    return str(value)


def model_values(model: BaseModel, skip: Iterable[str] = ()) -> dict[str, str]:
    """A model's fields by the name the spec uses (its alias: `for`, `continue`), as display strings."""
    out: dict[str, str] = {}
    for name, info in type(model).model_fields.items():
        if name in skip:
            continue
        out[info.alias or name] = show(getattr(model, name))
    return out


def ratio(value: float) -> str:
    """A derived ratio (SLO thresholds): six significant digits, so 14.4 x 0.005 reads 0.072."""
    return f"{value:.6g}"


def seconds(value: float) -> str:
    """A length of time in seconds as a Prometheus duration (`1h5m`), `0s` for none."""
    return str(Duration(round(value * 1000)))
