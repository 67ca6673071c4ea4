"""Load stack.yaml into a Spec, keeping every node's line and column for error messages."""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import stat
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from stackgen.diagnostics import Diagnostic, SpecError
from stackgen.spec.models import Spec

Path_ = tuple[str | int, ...]
# libyaml's safe loader where PyYAML has it (about 10x faster, same documents), else the pure-Python one.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# Limits that keep a hostile or mistaken spec from costing unbounded time or memory. The largest
# real specs are a few MB and under ten levels deep; aliases are for small repeated parts.
MAX_SPEC_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # C0 but tab and newline, DEL, C1
_INT_BOUND = 2**63  # every tool downstream (Prometheus, Kubernetes, Go) reads 64-bit integers

_MERGE_TAG = "tag:yaml.org,2002:merge"
_VALUE_TAG = "tag:yaml.org,2002:value"
_MERGE_KEYS = "YAML merge keys ('<<') are not supported: write each key out where it applies"


class _DuplicateKey(Exception):
    pass


class _Unsafe(Exception):
    """A node a spec must never contain (non-finite number, merge key, too deep, alias bomb).

    The fast loader only notices; `_structure_problems` then reports every such node with its path.
    """

    def __init__(self, mark: Any, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


def _scalar_value(construct: Callable[[yaml.Node], Any], node: yaml.ScalarNode) -> Any:
    """Construct one scalar, refusing what no field can mean: merge keys, NaN and infinities, integers
    beyond 64 bits, and values whose explicit or implicit type does not parse (`2024-02-30`)."""
    if node.tag == _MERGE_TAG:
        raise _Unsafe(node.start_mark, _MERGE_KEYS)
    try:
        value = construct(node)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as exc:
        reason = f"cannot read {_shown(node.value)} as {node.tag.rsplit(':', 1)[-1]}"
        detail = f": {_shown(str(exc), quote=False)}" if type(exc) is ValueError else ""  # the others say nothing useful
        raise _Unsafe(node.start_mark, reason + detail) from None
    if isinstance(value, str) and (control := _CONTROL.search(value)):
        raise _Unsafe(node.start_mark, f"{_shown(value)} holds the control character U+{ord(control.group()):04X}: "
                      "only tab and newline are allowed (kustomize and other YAML tools refuse the rest)")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Unsafe(node.start_mark, f"{_shown(node.value)} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT_BOUND <= value < _INT_BOUND:
        raise _Unsafe(node.start_mark, f"{_shown(node.value)} is out of range: integers must fit in 64 bits")
    return value


def _construct_equals(loader: yaml.constructor.SafeConstructor, node: yaml.ScalarNode) -> str:
    """A plain `=` is YAML 1.1's "value" key, which no safe constructor builds; read it as the string."""
    return loader.construct_scalar(node)


class _ScalarConstructor(yaml.constructor.SafeConstructor):
    """Builds keys and scalars for the positional parse and the structure scan, as the fast loader does."""


_ScalarConstructor.add_constructor(_VALUE_TAG, _construct_equals)


class _FastLoader(SAFE_LOADER):  # type: ignore[misc, valid-type]
    """The C loader, refusing duplicate keys (`_structure_problems` then reports where they are).

    Specs repeat the same scalars (label names, kinds, severities) thousands of times; resolving a
    scalar's type and constructing its value are memoized per (tag, text), which halves load time
    of large specs. Only immutable values are cached.

    Collections are built depth first with their depth counted, and an alias of a collection adds
    its expanded size to a budget: the checks cost nothing per scalar, and an alias bomb stops at
    the budget instead of reaching pydantic or the positional parse.
    """

    _resolved: dict[tuple[str, tuple[bool, bool]], str] = {}
    _scalars: dict[tuple[str, str], Any] = {}

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0
        self._aliased = 0
        self._sizes: dict[yaml.Node, tuple[int, int]] = {}

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            return super().resolve(kind, value, implicit)
        key = (value, implicit)
        tag = self._resolved.get(key)
        if tag is None:
            tag = self._resolved[key] = super().resolve(kind, value, implicit)
        return tag

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node.__class__ is yaml.ScalarNode:
            key = (node.tag, node.value)
            try:
                return self._scalars[key]
            except KeyError:
                value = _scalar_value(super().construct_object, node)
                if isinstance(value, str | int | float | bool | type(None)):
                    self._scalars[key] = value
                return value
        if node in self.constructed_objects:  # an alias of a collection built before
            size, height = _expanded_size(node, self._sizes)
            self._aliased += size
            if self._aliased > MAX_ALIAS_NODES or self._depth + height > MAX_DEPTH:
                raise _Unsafe(node.start_mark, "aliases expand beyond the limits")
            return self.constructed_objects[node]
        if self._depth >= MAX_DEPTH:
            raise _Unsafe(node.start_mark, f"nested deeper than {MAX_DEPTH} levels, the limit for a spec")
        self._depth += 1
        value = super().construct_object(node, deep=True)
        self._depth -= 1  # an exception abandons the whole load, so no `finally`
        return value


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[str, Any]:
    pairs = loader.construct_pairs(node, deep=True)
    mapping = {k if isinstance(k, str) else str(k): v for k, v in pairs}
    if len(mapping) != len(pairs):
        raise _DuplicateKey
    return mapping


_FastLoader.add_constructor("tag:yaml.org,2002:map", _mapping_without_duplicates)
_FastLoader.add_constructor(_VALUE_TAG, _construct_equals)


def _expanded_size(root: yaml.Node, sizes: dict[yaml.Node, tuple[int, int]]) -> tuple[int, int]:
    """Nodes in `root` with every alias expanded, and its nesting depth; memoized, so linear in the
    nodes as written. `root` was fully constructed before, so it holds no cycle."""
    stack = [root]
    while stack:
        node = stack[-1]
        if node in sizes:
            stack.pop()
            continue
        if node.__class__ is yaml.ScalarNode:
            sizes[node] = (1, 0)
            stack.pop()
            continue
        children = [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else node.value
        pending = [n for n in children if n not in sizes]
        if pending:
            stack.extend(pending)
            continue
        sizes[node] = (1 + sum(sizes[n][0] for n in children), 1 + max((sizes[n][1] for n in children), default=0))
        stack.pop()
    return sizes[root]


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

    def problem(self, path: Path_, message: str) -> Diagnostic:
        line, col = self.locate(path)
        return Diagnostic(self.file, line, col, format_path(path), message)


_PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")


def format_path(path: Path_) -> str:
    """`services[0].alerts[1].threshold`; a key that would blur the path (dots, spaces, brackets,
    newlines, empty) is quoted: `labels["app.kubernetes.io/name"]`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not _PLAIN_KEY.fullmatch(part):
            out += f"[{json.dumps(part, ensure_ascii=False)}]"
        else:
            out += f".{part}" if out else part
    return out


def _shown(value: Any, quote: bool = True, limit: int = 80) -> str:
    """A value as messages echo it: repr'd, and cut short so a huge value cannot flood the output."""
    text = repr(value) if quote else str(value)
    return text if len(text) <= limit else f"{text[:limit - 1]}…"


def _syntax_error(exc: yaml.YAMLError, filename: str, text: str = "") -> SpecError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = ": ".join(filter(None, [exc.context, exc.problem]))
        return SpecError([Diagnostic(filename, line, col, "", f"YAML syntax error: {reason}")])
    if isinstance(exc, yaml.reader.ReaderError):
        # libyaml counts the offset in UTF-8 bytes, the pure-Python reader in characters
        before = text.encode("utf-8")[:exc.position].decode("utf-8", "replace") if SAFE_LOADER is not yaml.SafeLoader \
            else text[:exc.position]
        line, col = before.count("\n") + 1, len(before) - before.rfind("\n")
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        return SpecError([Diagnostic(filename, line, col, "", f"YAML syntax error: character #x{char:04x}: {exc.reason}")])
    return SpecError([Diagnostic(filename, 1, 1, "", f"YAML error: {exc}")])


def _empty(filename: str) -> SpecError:
    return SpecError([Diagnostic(filename, 1, 1, "", "the file is empty: expected a stackgen/v1 spec")])


def parse_yaml(text: str, filename: str) -> tuple[Any, Positions]:
    """Parse one YAML document into plain data; positions come lazily. Duplicate keys are errors,
    and so is any node beyond the limits or that no field can hold (see `_scalar_value`)."""
    try:
        data = yaml.load(text, Loader=_FastLoader)  # noqa: S506 - a SafeLoader subclass
    except (_DuplicateKey, _Unsafe, yaml.constructor.ConstructorError) as exc:
        # the fast load stops at the first problem; the scan finds and locates each (a recursive alias,
        # which the constructor reports at its anchor, is located at the alias)
        problems = _structure_problems(text, filename)
        if not problems and isinstance(exc, _Unsafe):
            problems = [Diagnostic(filename, exc.mark.line + 1, exc.mark.column + 1, "", exc.message)]
        if not problems and isinstance(exc, yaml.YAMLError):
            problems = _syntax_error(exc, filename, text).problems
        if not problems:
            problems = _positional_parse(text, filename)[3]
        raise SpecError(problems) from None
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, filename, text) from None
    if data is None:
        raise _empty(filename)
    return data, Positions(filename, text)


@dataclass
class _Open:
    """A collection the structure scan is inside of."""

    path: Path_
    is_map: bool
    anchor: str | None
    size: int = 1
    height: int = 0
    children: int = 0
    key: str = ""
    key_mark: Any = None
    keys: set[str | None] = field(default_factory=set)


def _structure_problems(text: str, filename: str) -> list[Diagnostic]:
    """Every duplicate key and every node beyond the limits or unreadable as a value, with its path,
    from one pass over the parser's events: aliases are never expanded, so an alias bomb costs what
    its text costs."""
    problems: list[Diagnostic] = []
    constructor = _ScalarConstructor()
    resolver = yaml.resolver.Resolver()
    scalars: dict[tuple[str, str], tuple[str, str | None]] = {}
    anchors: dict[str, tuple[int, int, str | None] | None] = {}  # expanded size, depth, key text; None while open
    stack: list[_Open] = []
    aliased = 0

    def report(mark: Any, path: Path_, message: str) -> None:
        if stack and stack[-1].is_map and stack[-1].children % 2 == 1:
            mark = stack[-1].key_mark  # a mapping's value is located at its key, as `Positions.locate` does
        problems.append(Diagnostic(filename, mark.line + 1, mark.column + 1, format_path(path), message))

    def path_of(key: str = "?") -> Path_:
        if not stack:
            return ()
        parent = stack[-1]
        if not parent.is_map:
            return (*parent.path, parent.children)
        return (*parent.path, key if parent.children % 2 == 0 else parent.key)

    def done(size: int, height: int, key: str | None, mark: Any) -> None:
        if stack:
            parent = stack[-1]
            parent.size += size
            parent.height = max(parent.height, height)
            if parent.is_map and parent.children % 2 == 0:
                if key is not None and key in parent.keys:
                    report(mark, (*parent.path, key), "duplicate key")
                parent.key, parent.key_mark = key or "?", mark
                parent.keys.add(key)
            parent.children += 1

    try:
        for event in yaml.parse(text, Loader=SAFE_LOADER):
            if isinstance(event, yaml.ScalarEvent):
                tag = event.tag
                if tag in (None, "!"):
                    tag = resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
                if (tag, event.value) not in scalars:
                    node = yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, event.style)
                    try:
                        value = _scalar_value(constructor.construct_object, node)
                        scalars[tag, event.value] = (value if isinstance(value, str) else str(value), None)
                    except _Unsafe as exc:
                        scalars[tag, event.value] = (event.value, exc.message)
                    except yaml.YAMLError as exc:
                        scalars[tag, event.value] = (event.value, str(getattr(exc, "problem", None) or exc))
                key, message = scalars[tag, event.value]
                if message:
                    report(event.start_mark, path_of(key), message)
                if event.anchor:
                    anchors[event.anchor] = (1, 0, key)
                done(1, 0, key, event.start_mark)
            elif isinstance(event, yaml.AliasEvent):
                target = anchors.get(event.anchor)
                if target is None:
                    report(event.start_mark, path_of(), f"alias *{event.anchor} refers to a node that contains it"
                           if event.anchor in anchors else f"alias *{event.anchor} names no anchor before it")
                    return problems
                size, height, key = target
                if height:
                    aliased += size
                    if aliased > MAX_ALIAS_NODES:
                        report(event.start_mark, path_of(key or "?"), f"alias *{event.anchor} expands the spec past "
                               f"{MAX_ALIAS_NODES} nodes, the limit for aliases")
                        return problems
                    if len(stack) + height > MAX_DEPTH:
                        report(event.start_mark, path_of(key or "?"), f"alias *{event.anchor} nests deeper than "
                               f"{MAX_DEPTH} levels, the limit for a spec")
                done(size, height, key, event.start_mark)
            elif isinstance(event, yaml.CollectionStartEvent):
                path = path_of()
                if len(stack) == MAX_DEPTH:
                    report(event.start_mark, path, f"nested deeper than {MAX_DEPTH} levels, the limit for a spec")
                if event.anchor:
                    anchors[event.anchor] = None
                stack.append(_Open(path, isinstance(event, yaml.MappingStartEvent), event.anchor))
            elif isinstance(event, yaml.CollectionEndEvent):
                node = stack.pop()
                if node.anchor:
                    anchors[node.anchor] = (node.size, node.height + 1, None)
                done(node.size, node.height + 1, None, event.start_mark)
    except yaml.YAMLError as exc:
        return problems or _syntax_error(exc, filename, text).problems
    return problems


def _positional_parse(text: str, filename: str):
    """Data, value positions, key positions and duplicate-key problems, from the node tree.

    Callers have checked the structure first (a fast load that passed, or `_structure_problems`), so
    this recursion is shallow and aliases expand within the budget."""
    values: dict[Path_, tuple[int, int]] = {}
    keys: dict[Path_, tuple[int, int]] = {}
    try:
        node = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, filename, text) from None
    if node is None:
        raise _empty(filename)
    problems: list[Diagnostic] = []
    constructor = _ScalarConstructor()

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
                    problems.append(Diagnostic(filename, *where, format_path(child), "duplicate key"))
                keys[child] = where
                out[key] = build(value_node, child)
            return out
        if isinstance(n, yaml.SequenceNode):
            return [build(item, (*path, i)) for i, item in enumerate(n.value)]
        return constructor.construct_object(n, deep=True)

    try:
        data = build(node, ())
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, filename, text) from None
    return data, values, keys, problems


def _read(path: Path, name: str) -> str:
    """The file's text, refusing what is not a regular file or is larger than a spec can be: a FIFO
    is opened without blocking, and at most one byte past the limit is ever read."""
    def fail(message: str, line: int = 1, col: int = 1) -> SpecError:
        return SpecError([Diagnostic(name, line, col, "", message)])

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise fail("file not found") from None
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror}") from None
    raw = b""
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISREG(mode):
            with os.fdopen(fd, "rb", closefd=False) as stream:
                raw = stream.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise fail(f"cannot read the file: {exc.strerror}") from None
    finally:
        os.close(fd)
    if stat.S_ISDIR(mode):
        raise fail("is a directory, not a spec file")
    if not stat.S_ISREG(mode):
        raise fail("not a regular file: a spec is read from a regular file only")
    if len(raw) > MAX_SPEC_BYTES:
        raise fail(f"the file is larger than {MAX_SPEC_BYTES // 2**20} MiB, the limit for a spec")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[:exc.start]
        line_start = before.rfind(b"\n") + 1
        col = len(before[line_start:].decode("utf-8", "replace")) + 1
        raise fail(f"not UTF-8: byte 0x{raw[exc.start]:02x}: {exc.reason}", before.count(b"\n") + 1, col) from None
    # universal newlines, as text-mode reading gives: positions count lines the same way
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


def load_spec(path: Path | str, display_name: str | None = None) -> tuple[Spec, Positions]:
    """Read, parse and validate a spec file; raise SpecError with every problem found."""
    path = Path(path)
    name = display_name or str(path)
    text = _read(path, name)
    data, positions = parse_yaml(text, name)
    if not isinstance(data, dict):
        raise SpecError([positions.problem((), "the top level must be a mapping (apiVersion, name, services, ...)")])
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_problem_from(error, data, positions) for error in exc.errors()]) from None
    return spec, positions


def _problem_from(error: dict[str, Any], data: Any, positions: Positions) -> Diagnostic:
    """Turn a pydantic error into a positioned problem in the user's vocabulary."""
    path = _data_path(error["loc"], data)
    kind, message = error["type"], error["msg"]
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = error.get("ctx", {}).get("expected_tags", "")
        path = (*path, "kind")
        message = f"unknown kind {error.get('input', {}).get('kind')!r}: expected one of {tags}" \
            if kind == "union_tag_invalid" else f"missing 'kind': expected one of {tags}"
    elif kind == "extra_forbidden":
        message = f"unknown field {_shown(path[-1])}"
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
    return f"{type(value).__name__} {_shown(value)}"
