"""The smallest RFC 6902 JSON patch (replace ops only) that turns one document into another.

kustomize applies such a patch to a custom resource (a PrometheusRule) whose lists a strategic merge
would replace whole, so an overlay can carry only what its environment changes. Only `replace` is
emitted: where two values differ in shape (a list of another length, a mapping with other keys, a
different type) the whole value is replaced, which is always correct; where they have the same shape,
the diff descends, so a changed threshold becomes one op on one `expr`.
"""

from __future__ import annotations

from typing import Any


def pointer(*parts: str | int) -> str:
    """A JSON pointer (RFC 6901): `~` and `/` inside a key are escaped."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def replace_ops(base: Any, target: Any, path: str = "") -> list[dict[str, Any]]:
    """Ops, in document order, that make `base` equal to `target`."""
    if isinstance(base, dict) and isinstance(target, dict) and base.keys() == target.keys():
        return [op for key in base for op in replace_ops(base[key], target[key], path + pointer(key))]
    if isinstance(base, list) and isinstance(target, list) and len(base) == len(target):
        return [op for i, (b, t) in enumerate(zip(base, target, strict=True)) for op in replace_ops(b, t, path + pointer(i))]
    if type(base) is type(target) and base == target:
        return []
    return [{"op": "replace", "path": path, "value": target}]
