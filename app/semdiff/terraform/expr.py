"""Values and canonical text of HCL expressions, read from a tree-sitter-hcl syntax tree.

Literals become Python values (strings, ints, floats, bools, None, lists and dicts of values).
A bare name (`string` in `type = string`) is
that name, as Terraform's JSON syntax writes it. Anything else Terraform evaluates becomes `"${…}"` around its canonical text: comments dropped,
whitespace normalized (`a + b`, `f(a, b)`, `{k = v, …}`, `[for x in xs : x]`), string literals
re-quoted from their decoded value, `a.0` written `a[0]`, object keys bare when they are
identifiers. So formatting-only edits compare equal, and `"${x}"` equals `x` as in Terraform
(a template that is one interpolation is the value itself, not a string).

Strings stay in template form: a literal `${` is kept escaped as `$${` (and `%{` as `%%{`), so
`"$${a}"` (text) never equals `a` (a reference). Heredocs follow Terraform: the value ends with
the newline before the closing marker, `<<-` strips the common leading whitespace, and backslashes
are not escapes. Strip markers (`${~ x ~}`) trim the neighbouring literal whitespace.
"""

from __future__ import annotations

import re
from typing import Any

from tree_sitter import Node

from app.semdiff.terraform.template import (
    Part,
    apply_strip,
    collect_markers,
    flush,
    interpolated,
    single_interpolation,
    strip_markers,
)

_BINARY = frozenset({"*", "/", "%", "+", "-", ">", ">=", "<", "<=", "==", "!=", "&&", "||"})
_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # keys written without quotes in canonical text
# Source text whose value needs no tree walk (most attributes): a plain string, an integer, a
# keyword, or a reference such as `aws_subnet.private[0].id`. Anything else takes the full path.
_FAST = re.compile(
    rb'"(?P<string>[^"\\$%\n]*)"|(?P<int>-?[0-9]+)|(?P<keyword>true|false|null)'
    rb"|(?P<reference>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z_][A-Za-z0-9_-]*|\[[0-9]+\])*)"
)
_KEYWORDS: dict[bytes, Any] = {b"true": True, b"false": False, b"null": None}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_QUOTE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class HclSyntaxError(Exception):
    """Input tree-sitter accepts but HCL does not (bad escape, hex number); carries a line."""

    def __init__(self, message: str, node: Node) -> None:
        super().__init__(message)
        self.message = message
        self.line = node.start_point.row + 1


def _kids(node: Node) -> list[Node]:
    return [c for c in node.children if c.type != "comment"]


def quote(text: str) -> str:
    """A decoded string as an HCL string literal (canonical escapes)."""
    out = "".join(
        _QUOTE.get(ch, ch) if ch in _QUOTE or ch >= " " else f"\\u{ord(ch):04x}" for ch in text
    )
    return f'"{out}"'


class ExpressionReader:
    """Reads expressions of one source; `source` is the UTF-8 text the tree was parsed from."""

    def __init__(self, source: bytes) -> None:
        self.source = source

    def raw(self, start: int, end: int) -> str:
        return self.source[start:end].decode("utf-8")

    # -- values --------------------------------------------------------------------------------

    def value(self, node: Node) -> Any:
        """The value of an `expression` node: a literal as such, anything else as `${text}`."""
        fast = _FAST.fullmatch(self.source, node.start_byte, node.end_byte)
        if fast is not None:
            kind = fast.lastgroup
            text = fast.group(kind or 0)
            if kind == "string":
                return text.decode("utf-8")
            if kind == "int":
                return int(text)
            if kind == "keyword":
                return _KEYWORDS[text]
            if b"." in text or b"[" in text:
                return "${" + text.decode("utf-8") + "}"
            return text.decode("utf-8")
        kids = _kids(node)
        if len(kids) != 1:
            return "${" + self.sequence(kids) + "}"
        term = kids[0]
        kind = term.type
        if kind == "literal_value":
            return self.literal(term.children[0])
        if kind == "collection_value":
            collection = term.children[0]
            if collection.type == "tuple":
                return [self.value(e) for e in collection.children if e.type == "expression"]
            return {self.key(k): self.value(v) for k, v in self.elements(collection)}
        if kind == "template_expr":
            parts = self.template(term.children[0])
            if single_interpolation(parts):
                return self.value(interpolated(parts[0]))
            return self.render(parts, quoted=False)
        if kind == "variable_expr":
            # A bare name (`type = string`, `ignore_changes = [tags]`, `provider = aws`) is a
            # keyword-like value that Terraform's JSON syntax writes as a plain string.
            return self.raw(term.start_byte, term.end_byte)
        if kind == "operation":
            negated = self.negative_number(term)
            if negated is not None:
                return negated
        return "${" + self.text(term) + "}"

    def literal(self, node: Node) -> Any:
        kind = node.type
        if kind == "string_lit":
            return self.string(node)
        if kind == "numeric_lit":
            return self.number(node)
        if kind == "bool_lit":
            return node.text == b"true"
        return None  # null_lit

    def number(self, node: Node) -> int | float:
        text = self.raw(node.start_byte, node.end_byte)
        if text.isdigit():
            return int(text)
        if text[:2].lower() == "0x":
            raise HclSyntaxError(f"invalid number {text!r}: HCL has no hexadecimal numbers", node)
        return float(text)

    def negative_number(self, operation: Node) -> int | float | None:
        unary = operation.children[0]
        if unary.type != "unary_operation":
            return None
        kids = _kids(unary)
        if kids[0].type != "-" or len(kids) != 2 or kids[1].type != "literal_value":
            return None
        inner = kids[1].children[0]
        return -self.number(inner) if inner.type == "numeric_lit" else None

    def string(self, node: Node) -> str:
        """A `string_lit` (no interpolation): its decoded text, `$${` kept in template form."""
        start, end = node.children[0].end_byte, node.children[-1].start_byte
        return self.unescape(self.raw(start, end), node)

    def unescape(self, text: str, node: Node) -> str:
        if "\\" not in text:
            return text

        def one(match: re.Match[str]) -> str:
            code = match.group(1)
            if code in _SIMPLE_ESCAPES:
                return _SIMPLE_ESCAPES[code]
            if code[0] in "uU" and len(code) > 1:
                return chr(int(code[1:], 16))
            raise HclSyntaxError(f"invalid escape sequence \\{code} in a string", node)

        out = _ESCAPE.sub(one, text)
        if any("\ud800" <= ch <= "\udfff" for ch in out):
            try:
                out = out.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError as exc:
                raise HclSyntaxError("unpaired UTF-16 surrogate escape in a string", node) from exc
        return out

    def elements(self, obj: Node) -> list[tuple[Node, Node]]:
        """(key, value) expression nodes of an `object`."""
        out = []
        for elem in obj.children:
            if elem.type == "object_elem":
                key = elem.child_by_field_name("key")
                val = elem.child_by_field_name("val")
                assert key is not None and val is not None
                out.append((key, val))
        return out

    def key(self, node: Node) -> str:
        """An object key as a string: `a`, `"a"` → `a`; `(var.k)`, `var.k` → `${var.k}`."""
        plain, text = self.key_parts(node)
        return text if plain else "${" + text + "}"

    def key_parts(self, node: Node) -> tuple[bool, str]:
        """(is a literal key, its text): the key's string, or the expression's canonical text."""
        kids = _kids(node)
        if len(kids) == 3 and kids[0].type == "(":
            return self.key_parts(kids[1])
        if len(kids) == 1:
            term = kids[0]
            if term.type == "variable_expr":
                return True, self.raw(term.start_byte, term.end_byte)
            if term.type == "literal_value":
                value = self.literal(term.children[0])
                if isinstance(value, str):
                    return True, value
                return True, self.text(term)
            if term.type == "template_expr":
                value = self.value(node)
                if not (value.startswith("${") and value.endswith("}")):  # text, not one expr
                    return True, value
        return False, self.text(node)

    # -- canonical text ------------------------------------------------------------------------

    def text(self, node: Node) -> str:
        """Canonical source text of any expression node."""
        kind = node.type
        if kind == "expression":
            return self.sequence(_kids(node))
        if kind == "variable_expr":
            return self.raw(node.start_byte, node.end_byte)
        if kind == "literal_value":
            inner = node.children[0]
            if inner.type == "string_lit":
                return quote(self.string(inner))
            if inner.type == "numeric_lit":
                return repr(self.number(inner))
            return self.raw(inner.start_byte, inner.end_byte)
        if kind == "operation":
            return self.text(node.children[0])
        if kind == "binary_operation":
            kids = _kids(node)
            at = next(i for i, k in enumerate(kids) if not k.is_named and k.type in _BINARY)
            left, right = self.sequence(kids[:at]), self.sequence(kids[at + 1 :])
            return f"{left} {kids[at].type} {right}"
        if kind == "unary_operation":
            kids = _kids(node)
            return kids[0].type + self.sequence(kids[1:])
        if kind == "conditional":
            cond, then, other = (
                self.text(k) for k in node.named_children if k.type == "expression"
            )
            return f"{cond} ? {then} : {other}"
        if kind in ("collection_value", "template_expr", "for_expr", "splat", "index"):
            return self.text(node.children[0])
        if kind == "tuple":
            return (
                "[" + ", ".join(self.text(e) for e in node.children if e.type == "expression") + "]"
            )
        if kind == "object":
            items = [f"{self.key_text(k)} = {self.text(v)}" for k, v in self.elements(node)]
            return "{" + ", ".join(items) + "}"
        if kind in ("quoted_template", "heredoc_template"):
            parts = self.template(node)
            if single_interpolation(parts):
                return self.text(interpolated(parts[0]))
            return '"' + self.render(parts, quoted=True) + '"'
        if kind == "function_call":
            return self.call(node)
        if kind in ("for_tuple_expr", "for_object_expr"):
            return self.for_text(node)
        return self.sequence([node])

    def sequence(self, kids: list[Node]) -> str:
        """Terms flattened by the grammar: a base, then `.attr`, `[i]`, splats, or `( … )`."""
        out = []
        for kid in kids:
            kind = kid.type
            if kind == "get_attr":
                out.append("." + self.raw(kid.children[-1].start_byte, kid.end_byte))
            elif kind == "new_index":
                out.append("[" + self.text(kid.named_children[0]) + "]")
            elif kind == "legacy_index":
                out.append("[" + self.raw(kid.start_byte, kid.end_byte).lstrip(".").strip() + "]")
            elif kind == "attr_splat":
                out.append(".*" + self.sequence(_kids(kid)[1:]))
            elif kind == "full_splat":
                out.append("[*]" + self.sequence(_kids(kid)[1:]))
            elif kind in ("index", "splat"):
                out.append(self.sequence(kid.children))
            elif not kid.is_named:
                out.append(kind)  # "(" and ")"
            else:
                out.append(self.text(kid))
        return "".join(out)

    def key_text(self, node: Node) -> str:
        plain, text = self.key_parts(node)
        if not plain:
            return f"({text})"
        return text if _BARE_KEY.fullmatch(text) else quote(text)

    def call(self, node: Node) -> str:
        name = self.raw(node.children[0].start_byte, node.children[0].end_byte)
        args = next((k for k in node.children if k.type == "function_arguments"), None)
        if args is None:
            return f"{name}()"
        texts = [self.text(a) for a in args.children if a.type == "expression"]
        spread = "..." if any(a.type == "ellipsis" for a in args.children) else ""
        return f"{name}({', '.join(texts)}{spread})"

    def for_text(self, node: Node) -> str:
        kids = _kids(node)
        intro = kids[1]
        names = [
            self.raw(n.start_byte, n.end_byte) for n in intro.children if n.type == "identifier"
        ]
        (collection,) = (n for n in intro.children if n.type == "expression")
        head = f"for {', '.join(names)} in {self.text(collection)} : "
        exprs = [self.text(k) for k in kids if k.type == "expression"]
        cond = next((k for k in kids if k.type == "for_cond"), None)
        tail = "" if cond is None else " if " + self.text(cond.named_children[-1])
        if node.type == "for_tuple_expr":
            return f"[{head}{exprs[0]}{tail}]"
        spread = "..." if any(k.type == "ellipsis" for k in kids) else ""
        return f"{{{head}{exprs[0]} => {exprs[1]}{spread}{tail}}}"

    # -- templates -----------------------------------------------------------------------------

    def template(self, node: Node) -> list[Part]:
        """A quoted or heredoc template as literal text and `${…}`/`%{…}` markers, in order,
        with strip markers applied and (for `<<-`) the common indentation removed."""
        heredoc = node.type == "heredoc_template"
        if heredoc:
            opening = node.children[1]
            start = self.source.index(b"\n", opening.end_byte) + 1
            closing = node.children[-1]
            end = self.source.rindex(b"\n", 0, closing.start_byte) + 1
            end = max(start, end)
        else:
            start, end = node.children[0].end_byte, node.children[-1].start_byte
        markers: list[Node] = []
        collect_markers(node, markers)
        parts: list[Part] = []
        pos = start
        for marker in markers:
            parts.append(self.literal_text(pos, marker.start_byte, heredoc, node))
            left, right = strip_markers(marker)
            parts.append((marker.type, marker, left, right))
            pos = marker.end_byte
        parts.append(self.literal_text(pos, end, heredoc, node))
        apply_strip(parts)
        if heredoc and node.children[0].text == b"<<-":
            parts = flush(parts)
        return [p for p in parts if p != ""]

    def literal_text(self, start: int, end: int, heredoc: bool, node: Node) -> str:
        text = self.raw(start, end) if end > start else ""
        return text if heredoc else self.unescape(text, node)

    def render(self, parts: list[Part], quoted: bool) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(quote(part)[1:-1] if quoted else part)
            else:
                out.append(self.marker_text(part[0], part[1]))
        return "".join(out)

    def marker_text(self, kind: str, node: Node) -> str:
        exprs = [k for k in node.named_children if k.type == "expression"]
        if kind == "template_interpolation":
            if not exprs:
                raise HclSyntaxError("empty interpolation ${} in a template", node)
            return "${" + self.text(exprs[0]) + "}"
        if kind == "template_if_intro":
            return "%{ if " + self.text(exprs[0]) + " }"
        if kind == "template_for_start":
            names = [
                self.raw(n.start_byte, n.end_byte)
                for n in node.named_children
                if n.type == "identifier"
            ]
            return "%{ for " + ", ".join(names) + " in " + self.text(exprs[0]) + " }"
        word = {"template_else_intro": "else", "template_if_end": "endif"}.get(kind, "endfor")
        return "%{ " + word + " }"
