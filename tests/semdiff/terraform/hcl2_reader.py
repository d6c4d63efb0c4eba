"""The previous Terraform reader, on python-hcl2's pure-Python lark parser: the reference of the
differential test (tests/semdiff/terraform/test_differential.py). It is the code that shipped
before tree-sitter, kept as it was (python-hcl2 is a dev dependency only), so both readers can be
run on the same inputs and their changes compared.

Two python-hcl2 bugs are corrected here, each documented where it is fixed, because the
reference must be right where the new reader is compared with it:
- heredocs: python-hcl2 drops the newline before the closing marker and backslash-escapes every
  `"` of a `<<-` heredoc; Terraform's value keeps the newline and the quotes (`_heredoc`);
- inside expression text, python-hcl2 keeps quoted identifier keys as written (`{"Name" = x}`)
  and writes some references as one-interpolation templates (`f("${var.x}")` for `f(var.x)`);
  Terraform reads `{Name = x}` and `f(var.x)`, which is what the new reader writes
  (`_canonical`).
Every other difference is listed in test_terraform_differential.KNOWN_DIFFERENCES.
"""

from __future__ import annotations

import re
from typing import Any

import hcl2
from hcl2 import SerializationOptions
from hcl2.transformer import RuleTransformer
from hcl2.utils import process_escape_sequences
from lark import Token, Tree
from lark.exceptions import LarkError, UnexpectedInput

from app.core.errors import UnparseableError
from app.core.text import decode_text
from app.semdiff.common.documents import MAX_STRUCTURED_BYTES
from app.semdiff.terraform.hcl import nest
from app.semdiff.terraform.parse import Flavor, ObjectCollector, TfFile, unwrap
from app.semdiff.terraform.tfjson import FIX, json_blocks

_OPTIONS = SerializationOptions(
    strip_string_quotes=True,
    explicit_blocks=False,
    with_comments=False,
    preserve_heredocs=False,
)
_TRANSFORMER = RuleTransformer(discard_new_line_or_comments=True)
_NAME_RULES = frozenset({"identifier", "keyword", "literal_value"})
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None}


def parse_side_hcl2(data: bytes, flavor: Flavor, source: str) -> TfFile:
    """Parse one side (cached by content: detection, analysis and re-runs share one parse).

    The result is shared between callers: treat it as read-only.
    """
    if len(data) > MAX_STRUCTURED_BYTES:
        raise UnparseableError(f"file larger than {MAX_STRUCTURED_BYTES:,} bytes", file=source)
    text = decode_text(data, source)
    try:
        if flavor == "json":
            return _Collector(source).from_json(text)
        return _Collector(source).from_hcl(text, flavor)
    except UnparseableError:
        raise
    except UnexpectedInput as exc:
        line = exc.line if isinstance(exc.line, int) and exc.line > 0 else None
        raise UnparseableError(_lark_message(exc), file=source, line=line, hint=FIX) from exc
    except RecursionError as exc:
        raise UnparseableError("HCL nested too deeply", file=source, hint=FIX) from exc
    except (LarkError, RuntimeError, ValueError, TypeError, KeyError, IndexError) as exc:
        # python-hcl2 signals some invalid input (duplicate names, bad heredocs) this way.
        raise UnparseableError(f"invalid HCL: {exc}"[:300], file=source, hint=FIX) from exc


def _lark_message(exc: UnexpectedInput) -> str:
    token = getattr(exc, "token", None)
    if token is not None and getattr(token, "type", "") == "$END":
        return "invalid HCL: unexpected end of file (unclosed brace or string?)"
    if token is not None:
        return f"invalid HCL: unexpected {str(token)[:40]!r}"
    char = getattr(exc, "char", None)
    if char is not None:
        return f"invalid HCL: unexpected character {char!r}"
    return "invalid HCL"


class _Collector(ObjectCollector):
    """python-hcl2's reading of a file, on the analyzer's own object collection (addresses,
    duplicates): only the parser differs between the two sides of the differential test."""

    def add_block(
        self, block_type: str, labels: tuple[str, ...], body: dict[str, Any], line: int
    ) -> None:
        if block_type == "locals":
            for name, value in body.items():
                self.add("locals", (name,), {"value": value}, line)
            return
        if block_type in ("moved", "removed", "import"):
            body = {k: unwrap(v) if k in ("from", "to") else v for k, v in body.items()}
        self.add(block_type, labels, body, line)

    # -- HCL ---------------------------------------------------------------------------------

    def from_hcl(self, text: str, flavor: Flavor) -> TfFile:
        tree = hcl2.parses_to_tree(text)
        body = tree.children[0]
        for child in _trees(body):
            line = child.meta.line
            if child.data == "attribute":
                name, value = self.attribute(child)
                if flavor != "tfvars":
                    raise UnparseableError(
                        f"attribute {name!r} outside any block",
                        file=self.source,
                        line=line,
                        hint="a .tf file holds blocks only; variable values belong in .tfvars",
                    )
                self.add("tfvars", (name,), {"value": value}, line)
            elif child.data == "block":
                if flavor == "tfvars":
                    raise UnparseableError(
                        "a .tfvars file holds `name = value` assignments only, found a block",
                        file=self.source,
                        line=line,
                    )
                block_type, labels, inner = self.block_parts(child)
                body, lines = self.body_with_lines(inner)
                if block_type == "locals":
                    for name, value in body.items():
                        self.add("locals", (name,), {"value": value}, lines[name])
                else:
                    self.add_block(block_type, labels, body, line)
        return TfFile(objects=self.objects)

    def attribute(self, tree: Tree[Any]) -> tuple[str, Any]:
        name_tree, expression = tree.children[0], tree.children[-1]
        return _name(name_tree), _value(expression)

    def block_parts(self, tree: Tree[Any]) -> tuple[str, tuple[str, ...], Tree[Any]]:
        names: list[str] = []
        inner: Tree[Any] | None = None
        for child in _trees(tree):
            if child.data == "body":
                inner = child
            elif child.data in _NAME_RULES:
                names.append(_name(child))
            elif child.data == "string":
                names.append(_plain_string(child, self.source, child.meta.line))
        if inner is None or not names:
            raise UnparseableError("malformed block", file=self.source, line=tree.meta.line)
        return names[0], tuple(names[1:]), inner

    def body(self, tree: Tree[Any]) -> dict[str, Any]:
        return self.body_with_lines(tree)[0]

    def body_with_lines(self, tree: Tree[Any]) -> tuple[dict[str, Any], dict[str, int]]:
        """A block body as a value, and the line of each of its keys."""
        out: dict[str, Any] = {}
        blocks: dict[str, list[tuple[tuple[str, ...], dict[str, Any]]]] = {}
        lines: dict[str, int] = {}
        for child in _trees(tree):
            if child.data == "attribute":
                name, value = self.attribute(child)
                if name in out:
                    raise UnparseableError(
                        f"attribute {name!r} is set twice in one block",
                        file=self.source,
                        line=child.meta.line,
                        hint="keep one of the two assignments",
                    )
                out[name] = value
                lines[name] = child.meta.line
            elif child.data == "block":
                block_type, labels, inner = self.block_parts(child)
                blocks.setdefault(block_type, []).append((labels, self.body(inner)))
                lines.setdefault(block_type, child.meta.line)
        for block_type, items in blocks.items():
            if block_type in out:
                raise UnparseableError(
                    f"{block_type!r} is used both as an attribute and as a block",
                    file=self.source,
                    line=lines[block_type],
                    hint="use one form",
                )
            out[block_type] = nest(items)
        return out, lines

    def from_json(self, text: str) -> TfFile:
        for block_type, labels, body, line in json_blocks(text, self.source):
            self.add_block(block_type, labels, body, line)
        return TfFile(objects=self.objects)


def _trees(tree: Tree[Any]) -> list[Tree[Any]]:
    return [c for c in tree.children if isinstance(c, Tree) and c.data != "new_line_or_comment"]


def _name(tree: Tree[Any]) -> str:
    token = tree.children[0]
    return str(token)


def _plain_string(tree: Tree[Any], source: str, line: int) -> str:
    value = _literal_string(tree)
    if value is None:
        raise UnparseableError(
            "a block label must be a plain string", file=source, line=line, hint=FIX
        )
    return value


def _literal_string(tree: Tree[Any]) -> str | None:
    """The value of a quoted string without interpolation, or None if it has any."""
    parts: list[str] = []
    for child in tree.children:
        if isinstance(child, Token):
            continue  # the quotes
        inner = child.children[0] if len(child.children) == 1 else None
        if not isinstance(inner, Token) or inner.type != "STRING_CHARS":
            return None
        parts.append(str(inner))
    return process_escape_sequences("".join(parts))


_NO_VALUE = object()


def _fast_value(tree: Tree[Any]) -> Any:
    """Plain literals read straight off the tree (most attributes); `_NO_VALUE` otherwise."""
    if tree.data != "expr_term" or len(tree.children) != 1:
        return _NO_VALUE
    inner = tree.children[0]
    if not isinstance(inner, Tree):
        return _NO_VALUE
    kind = inner.data
    if kind == "string":
        value = _literal_string(inner)
        return _NO_VALUE if value is None else value
    if kind in ("heredoc_template", "heredoc_template_trim"):
        return _heredoc(str(inner.children[0]))
    if kind == "int_lit":
        return int(str(inner.children[0]))
    if kind == "literal_value":
        return _LITERALS[str(inner.children[0])]
    if kind in ("identifier", "get_attr_expr_term", "index_expr_term"):
        reference = _reference(tree)
        if reference is None:
            return _NO_VALUE
        return reference if kind == "identifier" else "${" + reference + "}"
    if kind == "tuple":
        items = []
        for child in _trees(inner):
            item = _fast_value(child)
            if item is _NO_VALUE:
                return _NO_VALUE
            items.append(item)
        return items
    if kind == "object":
        # Element by element (as hcl2.loads does), so heredocs inside objects get `_heredoc`.
        out: dict[str, Any] = {}
        for elem in _trees(inner):
            key_tree = _trees(elem)[0]
            key = _fast_value(_trees(key_tree)[0]) if _trees(key_tree) else _NO_VALUE
            if not isinstance(key, str) or key.startswith("${"):
                return _NO_VALUE
            out[key] = _value(_trees(elem)[-1])
        return out
    return _NO_VALUE


def _reference(tree: Tree[Any]) -> str | None:
    """`aws_subnet.private[0].id` as written (normalized), or None if not a plain reference."""
    if tree.data != "expr_term" or len(tree.children) != 1:
        return None
    inner = tree.children[0]
    if not isinstance(inner, Tree):
        return None
    if inner.data == "identifier":
        return str(inner.children[0])
    parts = _trees(inner)
    if len(parts) != 2:
        return None
    base = _reference(parts[0])
    if base is None:
        return None
    if inner.data == "get_attr_expr_term":
        (name,) = _trees(parts[1])
        return f"{base}.{name.children[0]}" if name.data == "identifier" else None
    if inner.data == "index_expr_term" and parts[1].data == "braces_index":
        (key,) = _trees(parts[1])
        if len(key.children) == 1 and isinstance(key.children[0], Tree):
            if key.children[0].data == "int_lit":
                return f"{base}[{int(str(key.children[0].children[0]))}]"
        index = _reference(key)
        return None if index is None else f"{base}[{index}]"
    return None


def _value(tree: Tree[Any]) -> Any:
    """The value of an expression: plain literals as such, expressions as normalized strings."""
    value = _fast_value(tree)
    if value is not _NO_VALUE:
        return value
    return _canonical(_TRANSFORMER.transform(tree).serialize(_OPTIONS))


_QUOTED_KEY = re.compile(r'([{,] ?)"([A-Za-z_][A-Za-z0-9_]*)" = ')
_ONE_INTERPOLATION = re.compile(r'(?:(?<=[(\[,?:=] )|(?<=[(\[]))"\$\{([^"{}\\]*)\}"')


def _canonical(value: Any) -> Any:
    """`${merge({"Name" = x})}` → `${merge({Name = x})}` and `${f("${var.x}")}` → `${f(var.x)}`
    inside expression text: the same values in Terraform."""
    if isinstance(value, str):
        if not value.startswith("${"):
            return value
        value = _QUOTED_KEY.sub(r"\1\2 = ", value)
        return _ONE_INTERPOLATION.sub(r"\1", value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


_HEREDOC = re.compile(r"<<(-?)([A-Za-z][A-Za-z0-9._-]*)\r?\n(.*?)^[ \t]*\2\r?\n?\Z", re.S | re.M)


def _heredoc(token: str) -> str:
    """A heredoc's value as Terraform computes it (python-hcl2 drops the last newline and escapes
    quotes in `<<-` heredocs): the lines up to the closing marker, each ending with a newline;
    `<<-` removes the smallest indentation of the non-blank lines."""
    match = _HEREDOC.match(token)
    assert match is not None, token
    flush, body = match.group(1) == "-", match.group(3).replace("\r\n", "\n")
    if not flush:
        return body
    lines = body.splitlines(keepends=True)
    indents = [len(x) - len(x.lstrip()) for x in lines if x.strip() or not x.endswith("\n")]
    cut = min(indents, default=0)
    return "".join(x[cut:] if x.strip() or not x.endswith("\n") else x for x in lines)
