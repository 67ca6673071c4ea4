"""A grammar of the Logstash configuration language, and the fields a pipeline reads.

Written from Logstash's own treetop grammar (logstash-core/lib/logstash/config/grammar.treetop):
sections input/filter/output holding plugin blocks and if / else if / else branches; attributes
`name => value` whose values are strings, numbers, barewords, arrays, hashes or plugins (codecs);
conditions with comparisons, regexp matches, `in` / `not in`, `!`, parentheses and and/or/xor/nand.

Strings, regexps, comments and white space are read exactly as Logstash reads them without
`config.support_escapes`: a backslash escapes only the closing quote (and stays in the value), any other
character, newlines included, stands for itself. So `"a\\\\"` does not end where it seems to, and a
value written with JSON escapes parses but means something else; the renderer quotes with
stackgen.output.quoting, and `_unquote` gives back exactly what Logstash would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from lark import Lark, Token, Tree
from lark.exceptions import LarkError

GRAMMAR = r"""
config: section*
section: NAME "{" _statement* "}"
_statement: plugin | branch

plugin: NAME "{" attribute* "}"
attribute: name _ARROW value
?name: NAME | string
?value: plugin | string | number | bareword | array | hash | selector
bareword: NAME
array: "[" [value ("," value)*] "]"
hash: "{" hash_entry* "}"
hash_entry: (NAME | string | number) _ARROW value

branch: if_block else_if_block* else_block?
if_block: "if" condition "{" _statement* "}"
else_if_block: "else" "if" condition "{" _statement* "}"
else_block: "else" "{" _statement* "}"

?condition: expression (bool_op expression)*
bool_op: AND | OR | XOR | NAND
?expression: "(" condition ")"
           | negative
           | in_expr
           | not_in_expr
           | compare_expr
           | regexp_expr
           | rvalue
negative: "!" "(" condition ")" | "!" selector
in_expr: rvalue "in" rvalue
not_in_expr: rvalue "not" "in" rvalue
compare_expr: rvalue COMPARE_OP rvalue
regexp_expr: rvalue REGEXP_OP (regex | string)
?rvalue: string | number | selector | array | regex
selector: SELECTOR

string: DQ_STRING | SQ_STRING
number: NUMBER
regex: REGEX

_ARROW: "=>"
AND: "and"
OR: "or"
XOR: "xor"
NAND: "nand"
COMPARE_OP: "==" | "!=" | "<=" | ">=" | "<" | ">"
REGEXP_OP: "=~" | "!~"
SELECTOR.2: /(\[[^\[\],"'\s][^\[\],"']*\])+/
NAME: /[A-Za-z0-9_@-]+/
NUMBER.2: /-?[0-9]+(\.[0-9]+)?(?![A-Za-z_@-])/
DQ_STRING: /"(?:[^"\\]|\\["]|\\(?!"))*"/
SQ_STRING: /'(?:[^'\\]|\\[']|\\(?!'))*'/
REGEX: /[\/](?:[^\/\\]|\\[\/]|\\(?![\/]))*[\/]/
COMMENT: /#[^\r\n]*/
WS: /[ \t\r\n]+/

%ignore WS
%ignore COMMENT
"""

# Fields every event may carry without being in the service's log schema.
LOGSTASH_FIELDS = frozenset({"@timestamp", "@metadata", "@version", "tags", "type", "host", "event", "log"})
# Beats puts the shipper's custom fields under [fields].
BEATS_FIELDS = frozenset({"fields", "agent", "ecs", "input"})
_SPRINTF = re.compile(r"%\{(\[[^}]+\]|[^+}][^}]*)\}")


@cache
def parser() -> Lark:
    return Lark(GRAMMAR, start="config", parser="lalr", keep_all_tokens=False)


class LogstashSyntaxError(ValueError):
    pass


SECTIONS = ("input", "filter", "output")
_TOKEN_NAMES = {
    "_ARROW": "'=>'",
    "RBRACE": "'}'",
    "LBRACE": "'{'",
    "LSQB": "'['",
    "RSQB": "']'",
    "COMMA": "','",
    "NAME": "a name",
    "DQ_STRING": "a string",
    "SQ_STRING": "a string",
    "NUMBER": "a number",
    "IF": "'if'",
    "ELSE": "'else'",
    "$END": "end of file",
}


def parse(text: str) -> Tree:
    """Parse a pipeline; raise LogstashSyntaxError with the line, column and what was expected."""
    try:
        tree = parser().parse(text)
    except LarkError as exc:
        line = getattr(exc, "line", "?")
        column = getattr(exc, "column", "?")
        first = str(exc).strip().splitlines()[0]
        expected = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
        shown = sorted({_TOKEN_NAMES.get(t, t) for t in expected})
        hint = f" (expected {' or '.join(shown)})" if shown else ""
        raise LogstashSyntaxError(f"line {line} column {column}: {first}{hint}") from None
    for section in tree.children:
        name = section.children[0]
        if str(name) not in SECTIONS:
            raise LogstashSyntaxError(
                f"line {name.line} column {name.column}: unknown section {str(name)!r} "
                f"(expected {', '.join(SECTIONS)})"
            )
    return tree


@dataclass(frozen=True)
class FieldRead:
    field: str  # the top-level field name
    reference: str  # as written
    line: int


def _top(reference: str) -> str:
    reference = reference.strip()
    if reference.startswith("["):
        return reference[1:].split("]", 1)[0]
    return reference.split("[", 1)[0].split(".", 1)[0]


def _unquote(token: Token) -> str:
    return token[1:-1]


def fields_read(tree: Tree) -> list[FieldRead]:
    """Fields the pipeline reads: selectors in conditions, `%{field}` references in strings, and the
    field-naming attributes of the filters we emit (mutate convert, date match, json source).

    A string in a condition is compared as written (Logstash formats only plugin settings), so a
    `%{...}` there is text, not a field read.
    """
    literal = {id(s) for branch in tree.iter_subtrees() if branch.data in ("if_block", "else_if_block")
               for s in branch.children[0].iter_subtrees() if isinstance(branch.children[0], Tree)}
    reads: list[FieldRead] = []
    for node in tree.iter_subtrees():
        if node.data == "selector":
            token = node.children[0]
            reads.append(FieldRead(_top(token), str(token), token.line))
        elif node.data == "string" and id(node) not in literal:
            token = node.children[0]
            for match in _SPRINTF.finditer(_unquote(token)):
                reads.append(FieldRead(_top(match.group(1)), match.group(0), token.line))
        elif node.data == "plugin":
            reads += _plugin_reads(node)
    return reads


def _plugin_reads(plugin: Tree) -> list[FieldRead]:
    name = str(plugin.children[0])
    reads: list[FieldRead] = []
    for attribute in plugin.children[1:]:
        if not isinstance(attribute, Tree) or attribute.data != "attribute":
            continue
        key_node, value = attribute.children
        key = _unquote(key_node.children[0]) if isinstance(key_node, Tree) else str(key_node)
        if name == "mutate" and key in ("convert", "rename", "copy", "lowercase", "uppercase", "strip"):
            reads += _names_in(value, hash_keys_only=key in ("convert", "rename", "copy"))
        elif name == "date" and key == "match" and isinstance(value, Tree) and value.data == "array":
            reads += _names_in(value.children[0]) if value.children else []
        elif name == "json" and key == "source":
            reads += _names_in(value)
    return reads


def _names_in(value: Tree | None, hash_keys_only: bool = False) -> list[FieldRead]:
    if value is None:
        return []
    if value.data == "string":
        token = value.children[0]
        return [FieldRead(_top(_unquote(token)), _unquote(token), token.line)]
    if value.data == "bareword":
        token = value.children[0]
        return [FieldRead(_top(str(token)), str(token), token.line)]
    if value.data == "hash":
        out = []
        for entry in value.children:
            key = entry.children[0]
            token = key.children[0] if isinstance(key, Tree) else key
            text = _unquote(token) if isinstance(key, Tree) and key.data == "string" else str(token)
            out.append(FieldRead(_top(text), text, token.line))
        return out
    if value.data == "array" and not hash_keys_only:
        return [r for child in value.children if isinstance(child, Tree) for r in _names_in(child)]
    return []


def file_input_paths(tree: Tree) -> list[str]:
    """The paths the pipeline's `file` inputs tail (strings or arrays of strings under `input { file }`).

    The compose check compares them with the folders it mounts into Logstash.
    """
    paths: list[str] = []
    for section in tree.children:
        if not isinstance(section, Tree) or section.data != "section" or str(section.children[0]) != "input":
            continue
        for plugin in section.iter_subtrees():
            if plugin.data != "plugin" or str(plugin.children[0]) != "file":
                continue
            for attribute in plugin.children[1:]:
                if not isinstance(attribute, Tree) or attribute.data != "attribute":
                    continue
                key_node, value = attribute.children
                key = _unquote(key_node.children[0]) if isinstance(key_node, Tree) else str(key_node)
                if key != "path":
                    continue
                values = value.children if value.data == "array" else [value]
                paths += [_unquote(v.children[0]) for v in values if isinstance(v, Tree) and v.data == "string"]
    return paths
