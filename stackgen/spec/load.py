"""Load stack.yaml into a Spec, keeping every node's line and column for error messages."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from stackgen.errors import Problem, SpecError
from stackgen.spec.models import Spec

Path_ = tuple[str | int, ...]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(Exception):
    pass


class _FastLoader(_Loader):  # type: ignore[misc, valid-type]
    """The C loader, refusing duplicate keys (the positional parse then reports where they are).

    Specs repeat the same scalars (label names, kinds, severities) thousands of times; resolving a
    scalar's type and constructing its value are memoized per (tag, text), which halves load time
    of large specs. Only immutable values are cached.
    """

    _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}
    _scalars: dict[tuple[str, str], Any] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.__class__ is not yaml.ScalarNode:
            return super().construct_object(node, deep)
        key = (node.tag, node.value)
        try:
            return self._scalars[key]
        except KeyError:
            value = super().construct_object(node, deep)
            if isinstance(value, str | int | float | bool | type(None)):
                self._scalars[key] = value
            return value


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    loader.flatten_mapping(node)
    pairs = loader.construct_pairs(node, deep=True)
    mapping = {k if isinstance(k, str) else str(k): v for k, v in pairs}
    if len(mapping) != len(pairs):
        raise _DuplicateKey
    return mapping


_FastLoader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)


@dataclass
class Positions:
    """Line and column (1-based) of each value, and of each mapping key, by path.

    Computed on first use: a valid spec never needs them, and walking the node tree costs as
    much as parsing (a second of a 3 MB spec).
    """

    file: str
    text: str = ""
    _values: dict[Path_, tuple[int, int]] | None = field(default=None, repr=False)
    _keys: dict[Path_, tuple[int, int]] = field(default_factory=dict, repr=False)

    def _index(self) -> dict[Path_, tuple[int, int]]:
        if self._values is None:
            _, self._values, self._keys, _ = _positional_parse(self.text, self.file)
        return self._values

    def locate(self, path: Path_) -> tuple[int, int]:
        """The position of the deepest existing node on the path (a missing field points at its parent)."""
        values = self._index()
        if tuple(path) in self._keys:
            return self._keys[tuple(path)]
        for end in range(len(path), -1, -1):
            if (prefix := tuple(path[:end])) in values:
                return values[prefix]
        return (1, 1)

    def problem(self, path: Path_, message: str) -> Problem:
        line, col = self.locate(path)
        return Problem(self.file, line, col, format_path(path), message)


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _syntax_error(exc: yaml.YAMLError, filename: str) -> SpecError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = ": ".join(filter(None, [exc.context, exc.problem]))
        return SpecError([Problem(filename, line, col, "", f"YAML syntax error: {reason}")])
    return SpecError([Problem(filename, 1, 1, "", f"YAML error: {exc}")])


def _empty(filename: str) -> SpecError:
    return SpecError([Problem(filename, 1, 1, "", "the file is empty: expected a stackgen/v1 spec")])


def parse_yaml(text: str, filename: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain data; positions come lazily. Duplicate keys are errors."""
    try:
        data = yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey:
        data, _, _, problems = _positional_parse(text, filename)
        raise SpecError(problems) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, filename) from None
    if data is None:
        raise _empty(filename)
    return data, Positions(filename, text)


def _positional_parse(text: str, filename: str):
    """Data, value positions, key positions and duplicate-key problems, from the node tree."""
    values: dict[Path_, tuple[int, int]] = {}
    keys: dict[Path_, tuple[int, int]] = {}
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, filename) from None
    if node is None:
        raise _empty(filename)
    problems: list[Problem] = []
    constructor = yaml.constructor.SafeConstructor()

    def build(n: yaml.Node, path: Path_) -> Any:
        values[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
        if isinstance(n, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                child = (*path, key)
                where = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in out:
                    problems.append(Problem(filename, *where, format_path(child), "duplicate key"))
                keys[child] = where
                out[key] = build(value_node, child)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        return constructor.construct_object(n, deep=True)

    return build(node, ()), values, keys, problems


def load_spec(path: Path | str, display_name: str | None = None) -> tuple[Spec, Positions]:
    """Read, parse and validate a spec file; raise SpecError with every problem found."""
    path = Path(path)
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([Problem(name, 1, 1, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError([Problem(name, 1, 1, "", f"cannot read the file: {exc}")]) from None
    data, positions = parse_yaml(text, name)
    if not isinstance(data, dict):
        raise SpecError([positions.problem((), "the top level must be a mapping (apiVersion, name, services, ...)")])
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_problem_from(error, data, positions) for error in exc.errors()]) from None
    return spec, positions


def _problem_from(error: dict[str, Any], data: Any, positions: Positions) -> Problem:
    """Turn a pydantic error into a positioned problem in the user's vocabulary."""
    path = _data_path(error["loc"], data)
    kind, message = error["type"], error["msg"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = error.get("ctx", {}).get("expected_tags", "")
        path = (*path, "kind")
        message = f"unknown kind {error.get('input', {}).get('kind')!r}: expected one of {tags}" \
            if kind == "union_tag_invalid" else f"missing 'kind': expected one of {tags}"
    elif kind == "extra_forbidden":
        message = f"unknown field {path[-1]!r}"
        allowed = _fields_at(path[:-1], data)
        close = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        message += f" (did you mean {close[0]!r}?)" if close else (f"; allowed: {', '.join(allowed)}" if allowed else "")
    elif kind == "missing":
        message = "required field is missing"
    elif kind.endswith("_type") or kind in ("literal_error", "string_pattern_mismatch", "enum"):
        message = f"{message[0].lower()}{message[1:]}, got {_describe(error.get('input'))}"
    elif message.startswith(("Value error, ", "Assertion failed, ")):
        message = message.split(", ", 1)[1]
    return positions.problem(path, message)


def _data_path(loc: tuple[Any, ...], data: Any) -> Path_:
    """Drop the union-member names pydantic inserts into locations, keeping only real keys and indexes."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(node, dict):
            if part in node:
                path.append(part)
                node = node[part]
            elif last:
                path.append(part)
            continue  # a union tag or a function-validator name
        if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif isinstance(part, str | int) and not isinstance(node, list | dict):
            if last and isinstance(part, str) and not part.startswith(("function-", "str", "int", "float")):
                path.append(part)
    return tuple(path)


def _fields_at(path: Path_, data: Any) -> list[str]:
    """The field names (aliases) the model at `path` accepts, for 'did you mean' hints."""
    model: Any = Spec
    node = data
    for part in path:
        model = _unwrap(model, node)
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return []
        field_ = next((f for n, f in model.model_fields.items() if (f.alias or n) == part), None)
        if field_ is None:
            return []
        model = field_.annotation
        node = node.get(part) if isinstance(node, dict) else None
    model = _unwrap(model, node)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return sorted(f.alias or n for n, f in model.model_fields.items())
    return []


def _unwrap(tp: Any, node: Any) -> Any:
    """Strip Optional/list/dict/Annotated and pick the union member a `kind` tag selects."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (list, dict) and not isinstance(node, dict | list):
            return tp
        elif origin is list:
            tp = typing.get_args(tp)[0]
            return tp
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            if isinstance(node, dict) and "kind" in node:
                for member in members:
                    kind_field = getattr(member, "model_fields", {}).get("kind")
                    if kind_field and node["kind"] in typing.get_args(kind_field.annotation):
                        return member
            if len(members) == 1:
                tp = members[0]
                continue
            return members[0]
        else:
            return tp


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"
