"""Hypothesis strategies that write Terraform the way AWS modules are written, in many styles.

A document is a model (blocks, attributes, value specs) rendered by `render` with a `Style`:
indentation, aligned `=`, comments between and inside values, one-line or multi-line calls and
collections, and the order of blocks and attributes. Two renderings of one model differ only in
formatting, so their semantic diff must be empty; renderings of two models must give the same
changes from the new reader and from the python-hcl2 reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

REFERENCES = [
    "var.name",
    "var.enabled",
    "local.tags",
    "aws_vpc.this[0].id",
    "aws_subnet.private[1].cidr_block",
    "each.value.port",
    "each.key",
    "count.index",
    "module.vpc.private_subnets",
    "data.aws_iam_policy_document.assume.json",
]
FUNCTIONS = ["merge", "lookup", "coalesce", "try", "concat", "format", "jsonencode"]
# Attribute and key names that are not keywords, meta-arguments or nested block types.
RESERVED = frozenset(
    "for in if else endif endfor true false null dynamic content ingress lifecycle versioning "
    "setting count for_each provider depends_on validation type default".split()
)
NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda n: n not in RESERVED)
# Quoted text: any letters, digits, spaces, punctuation and symbols, quotes included (escaped by
# `_quote`); `$` and `%` are left to the dedicated template-escape tests.
TEXT = st.text(
    st.characters(codec="utf-8", categories=["L", "N", "Zs", "P", "S"], exclude_characters="\\$%"),
    max_size=16,
)


@dataclass(frozen=True)
class Style:
    indent: str = "  "
    align: bool = False
    comments: bool = False
    multiline: bool = False
    flip: bool = False  # attributes in reverse order (repeated blocks keep theirs: a list)
    order: tuple[int, ...] = ()  # top-level block order (a permutation), empty = as generated


@dataclass(frozen=True)
class Value:
    """A value spec: `kind` and its parts; rendered by `value_text`."""

    kind: str
    parts: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Body:
    attributes: tuple[tuple[str, Value], ...]
    blocks: tuple[tuple[str, tuple[str, ...], Body], ...] = ()


@dataclass(frozen=True)
class Doc:
    blocks: tuple[tuple[str, tuple[str, ...], Body], ...] = field(default=())


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False).replace("${", "$${").replace("%{", "%%{")


def _scalars() -> st.SearchStrategy[Value]:
    return st.one_of(
        TEXT.map(lambda t: Value("string", (t,))),
        st.integers(-(10**6), 10**9).map(lambda i: Value("int", (i,))),
        st.booleans().map(lambda b: Value("bool", (b,))),
        st.just(Value("null")),
        st.sampled_from(REFERENCES).map(lambda r: Value("ref", (r,))),
        st.tuples(TEXT, st.sampled_from(REFERENCES), TEXT).map(lambda p: Value("template", p)),
        st.sampled_from(REFERENCES).map(lambda r: Value("interpolation", (r,))),
    )


def _heredocs() -> st.SearchStrategy[Value]:
    line = st.one_of(
        st.text(
            st.characters(codec="ascii", categories=["L", "N", "P", "Zs"], exclude_characters="$%"),
            max_size=30,
        ).filter(lambda t: t.strip() != "EOT"),
        st.sampled_from(REFERENCES).map(lambda r: "${" + r + "}"),
        st.just('"Effect": "Allow",'),
    )
    return st.tuples(
        st.booleans(),
        st.lists(st.tuples(st.integers(0, 4), line), min_size=1, max_size=6),
    ).map(lambda p: Value("heredoc", p))


def values(depth: int = 2, heredocs: bool = True) -> st.SearchStrategy[Value]:
    """Values; heredocs only as attribute values (inside calls python-hcl2 loses their quotes,
    a KNOWN_DIFFERENCE tested on its own)."""
    scalars = st.one_of(_scalars(), _heredocs()) if heredocs else _scalars()
    if depth == 0:
        return scalars
    # A heredoc's closing marker ends its line, so heredocs are attribute values only here.
    inner = plain = values(depth - 1, heredocs=False)
    return st.one_of(
        scalars,
        st.lists(inner, max_size=4).map(lambda xs: Value("list", tuple(xs))),
        st.dictionaries(NAMES, inner, max_size=4).map(lambda d: Value("object", tuple(d.items()))),
        st.tuples(st.sampled_from(FUNCTIONS), st.lists(plain, min_size=1, max_size=3)).map(
            lambda p: Value("call", (p[0], tuple(p[1])))
        ),
        st.tuples(st.sampled_from(REFERENCES), plain, plain).map(lambda p: Value("cond", p)),
        st.sampled_from(REFERENCES).map(lambda r: Value("for", (r,))),
        st.sampled_from(["aws_instance.web", "var.subnets"]).map(lambda r: Value("splat", (r,))),
    )


def bodies(depth: int = 1) -> st.SearchStrategy[Body]:
    attributes = st.dictionaries(NAMES, values(), max_size=5).map(lambda d: tuple(d.items()))
    if depth == 0:
        return attributes.map(lambda a: Body(a))
    nested = st.lists(
        st.tuples(
            st.sampled_from(["ingress", "lifecycle", "versioning", "setting"]),
            st.just(()),
            bodies(depth - 1),
        ),
        max_size=3,
    )
    dynamic = st.lists(
        st.tuples(
            st.just("dynamic"),
            st.sampled_from([("ingress",), ("egress",)]),
            bodies(0).map(lambda b: Body(b.attributes, (("content", (), b),))),
        ),
        max_size=1,
        unique_by=lambda b: b[1],
    )
    return st.tuples(attributes, nested, dynamic).map(
        lambda p: Body(p[0], tuple(p[1]) + tuple(p[2]))
    )


def documents() -> st.SearchStrategy[Doc]:
    resources = st.dictionaries(
        st.tuples(
            st.sampled_from(["aws_s3_bucket", "aws_security_group", "aws_db_instance"]), NAMES
        ),
        bodies(),
        max_size=4,
    )
    variables = st.dictionaries(NAMES, values(0), max_size=2)
    locals_ = st.dictionaries(NAMES, values(), max_size=3)

    def build(p: tuple[Any, Any, Any]) -> Doc:
        blocks: list[tuple[str, tuple[str, ...], Body]] = []
        for (rtype, name), body in p[0].items():
            blocks.append(("resource", (rtype, name), body))
        for name, default in p[1].items():
            validation = Body((("condition", Value("ref", ("var.enabled",))),))
            body = Body(
                (("type", Value("bare", ("string",))), ("default", default)),
                (("validation", (), validation),),
            )
            blocks.append(("variable", (name,), body))
        if p[2]:
            blocks.append(("locals", (), Body(tuple(p[2].items()))))
        return Doc(tuple(blocks))

    return st.tuples(resources, variables, locals_).map(build)


def styles() -> st.SearchStrategy[Style]:
    return st.builds(
        Style,
        indent=st.sampled_from(["  ", "    ", "\t"]),
        align=st.booleans(),
        comments=st.booleans(),
        multiline=st.booleans(),
        flip=st.booleans(),
    )


# -- rendering ---------------------------------------------------------------------------------


def render(doc: Doc, style: Style) -> str:
    order = style.order or tuple(range(len(doc.blocks)))
    out = []
    for index in order:
        block_type, labels, body = doc.blocks[index]
        if style.comments:
            out.append(f"# {block_type} {' '.join(labels)}\n")
        head = " ".join([block_type, *(json.dumps(label) for label in labels)])
        out.append(head + " {\n" + _body(body, style, 1) + "}\n\n")
    return "".join(out)


def _body(body: Body, style: Style, level: int) -> str:
    pad = style.indent * level
    attributes = list(body.attributes)[:: -1 if style.flip else 1]
    blocks = list(body.blocks)
    width = max((len(name) for name, _ in attributes), default=0) if style.align else 0
    lines = []
    for name, value in attributes:
        text = value_text(value, style, level)
        comment = "  # set by the module" if style.comments and value.kind != "heredoc" else ""
        lines.append(f"{pad}{name.ljust(width)} = {text}{comment}\n")
    for block_type, labels, inner in blocks:
        head = " ".join([block_type, *(json.dumps(label) for label in labels)])
        if style.comments:
            lines.append(f"\n{pad}// {block_type}\n")
        lines.append(f"{pad}{head} {{\n{_body(inner, style, level + 1)}{pad}}}\n")
    return "".join(lines)


def value_text(value: Value, style: Style, level: int) -> str:
    kind, parts = value.kind, value.parts
    if kind == "string":
        return _quote(parts[0])
    if kind == "int":
        return str(parts[0])
    if kind == "bool":
        return "true" if parts[0] else "false"
    if kind == "null":
        return "null"
    if kind in ("ref", "bare"):
        return str(parts[0])
    if kind == "template":
        return _quote(parts[0])[:-1] + "${" + parts[1] + "}" + _quote(parts[2])[1:]
    if kind == "interpolation":
        return '"${' + (" " if style.multiline else "") + parts[0] + '}"'
    if kind == "heredoc":
        return _heredoc(parts[0], parts[1], style, level)
    if kind in ("list", "object", "call"):
        return _collection(value, style, level)
    if kind == "cond":
        return f"{parts[0]} ? {value_text(parts[1], style, level)} : {value_text(parts[2], style, level)}"
    if kind == "for":
        if style.multiline:
            return f'{{\n{style.indent * (level + 1)}for k, v in {parts[0]} :\n{style.indent * (level + 1)}k => upper(v) if v != ""\n{style.indent * level}}}'
        return f'{{for k, v in {parts[0]} : k => upper(v) if v != ""}}'
    if kind == "splat":
        return f"{parts[0]}[*].id"
    raise AssertionError(kind)


def _collection(value: Value, style: Style, level: int) -> str:
    kind, parts = value.kind, value.parts
    if kind == "list":
        items = [value_text(v, style, level + 1) for v in parts]
        opener, closer = "[", "]"
    elif kind == "object":
        items = [f"{k} = {value_text(v, style, level + 1)}" for k, v in parts]
        opener, closer = "{", "}"
    else:
        items = [value_text(v, style, level + 1) for v in parts[1]]
        opener, closer = parts[0] + "(", ")"
    if not items:
        return opener + closer
    if not style.multiline:
        return opener + ", ".join(items) + closer
    pad = style.indent * (level + 1)
    note = " /* item */" if style.comments else ""
    inner = "".join(f"{pad}{item},{note}\n" for item in items)
    return f"{opener}\n{inner}{style.indent * level}{closer}"


def _heredoc(flush: bool, lines: list[tuple[int, str]], style: Style, level: int) -> str:
    if not flush:
        body = "".join(" " * extra + text + "\n" for extra, text in lines)
        return f"<<EOT\n{body}EOT"
    pad = style.indent * (level + 1)
    body = "".join(
        pad + " " * extra + text + "\n" if text.strip() else "\n" for extra, text in lines
    )
    return f"<<-EOT\n{body}{style.indent * level}EOT"
