"""Where a price book keeps its records, and reading one side of it into keyed records.

Records sit in a list or a `{key: record}` mapping: at the top level, under a container key
(`plans`, `prices`, `skus`, `coupons`…), or as the only list of records in the document. What
lies outside the records (book currency, version) is kept apart as book settings.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.text import decode_text
from app.core.yamlsafe import YamlDocument, node_at
from app.semdiff.common.documents import Format, read_documents
from app.semdiff.pricing.fields import (
    CONTAINER_KEYS,
    MAX_DEPTH,
    discount_fields,
    key_text,
    price_fields,
    price_like,
)
from app.semdiff.pricing.fields import key_field as find_key_field

__all__ = ["Book", "Record", "Side", "Where", "detect", "locate", "read_book", "read_side"]


@dataclass(frozen=True)
class Record:
    """One record of one side: its key, its fields and the line it starts on."""

    key: str
    value: dict[str, Any]
    line: int | None


@dataclass(frozen=True)
class Book:
    """One side of a price book: records by key, plus whatever lies outside the records."""

    records: dict[str, Record]
    outside: Any
    currency: Any


@dataclass(frozen=True)
class Where:
    """Where the records sit in a document: a path of keys, and list or `{key: record}` shape."""

    path: tuple[str, ...]
    mapping: bool

    def get(self, value: Any) -> Any:
        for part in self.path:
            value = value.get(part) if isinstance(value, dict) else None
        return value


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _is_mapping_of_records(value: Any, rule: PathRule) -> bool:
    """`{key: record}`; scalars beside the records (`"last_updated": "…"`) are book metadata."""
    if not isinstance(value, dict) or not value:
        return False
    records = [v for v in value.values() if isinstance(v, dict)]
    metadata = len(value) - len(records)
    if (
        not records
        or metadata > len(records)
        or not all(_scalar(v) for v in value.values() if not isinstance(v, dict))
    ):
        return False
    return any(price_like(str(name), rule) for rec in records for name in rec) or bool(
        discount_fields(records)
    )


def locate(value: Any, rule: PathRule, path: tuple[str, ...] = ()) -> Where | None:
    """The record list (top level, a container key, the only list of dicts) or record mapping."""
    if _is_records(value) and (value or not path):
        return Where(path, False)
    if not isinstance(value, dict) or len(path) >= MAX_DEPTH:
        return None
    for name in CONTAINER_KEYS:
        child = value.get(name)
        if _is_records(child):
            return Where((*path, name), False)
        if _is_mapping_of_records(child, rule):
            return Where((*path, name), True)
    lists = [k for k, v in value.items() if _is_records(v) and v]
    if len(lists) == 1:
        return Where((*path, str(lists[0])), False)
    if _is_mapping_of_records(value, rule):
        return Where(path, True)
    for name, child in value.items():
        if isinstance(child, dict) and (found := locate(child, rule, (*path, str(name)))):
            return found
    return None


@dataclass(frozen=True)
class Side:
    """A parsed side before keying: the document, its records' location and the raw text."""

    doc: YamlDocument | None
    where: Where | None
    text: str
    fmt: Format
    path: str

    @property
    def rows(self) -> list[dict[str, Any]]:
        found = self.where.get(self.doc.value) if self.where and self.doc else None
        if found is None:
            return []
        if self.where and self.where.mapping:
            return [v for v in found.values() if isinstance(v, dict)]
        return list(found)


def read_side(data: bytes | None, fmt: Format, source: str, rule: PathRule) -> Side:
    if data is None:
        return Side(None, None, "", fmt, source)
    docs = [d for d in read_documents(data, fmt, source) if d.value is not None]
    if len(docs) > 1:
        raise UnparseableError(
            "a price book must be one YAML document", file=source, line=docs[1].line
        )
    text = decode_text(data, source)
    if not docs:
        return Side(None, None, text, fmt, source)
    where = locate(docs[0].value, rule)
    if where is None:
        raise UnparseableError(
            "no list of price records found",
            file=source,
            line=docs[0].line,
            hint="put records under `plans`/`prices`/`skus`, or set `kind`/`key` in countersign.yml",
        )
    return Side(docs[0], where, text, fmt, source)


def detect(docs: Sequence[YamlDocument], rule: PathRule) -> bool:
    """True for a configured pricing path, or a keyed record list with a price-like amount or a
    discount (a coupon list)."""
    if rule.kind == "pricing":
        return True
    values = [d.value for d in docs if d.value is not None]
    if len(values) != 1 or (where := locate(values[0], rule)) is None:
        return False
    found = where.get(values[0])
    records = [v for v in found.values() if isinstance(v, dict)] if where.mapping else list(found)
    if not records or not (price_fields(records, rule) or discount_fields(records)):
        return False
    return where.mapping or find_key_field([records], rule) is not None


def _lines(side: Side, keys: Sequence[Any], key_field: str) -> list[int | None]:
    """Each record's 1-based line: CSV row starts, YAML nodes, JSON by searching the text."""
    if side.fmt == "csv":
        dialect = csv.excel_tab if side.path.lower().endswith(".tsv") else csv.excel
        reader = csv.reader(io.StringIO(side.text, newline=""), dialect=dialect, strict=True)
        starts: list[int | None] = []
        previous = 0
        for number, row in enumerate(reader):
            if number and row and any(c.strip() for c in row):
                starts.append(previous + 1)
            previous = reader.line_num
        return starts
    if side.where is None or side.doc is None:
        return [None] * len(keys)
    if side.fmt == "yaml":
        if side.where.mapping:
            return _yaml_key_lines(side.doc.node, side.where.path, keys)
        # The record list's node once, then each item's line: a look-up per record from the
        # root rebuilds the list's item nodes each time (quadratic in a 1,000-model table).
        records = node_at(side.doc.node, side.where.path)
        items = records.value if isinstance(records, SequenceNode) else []
        return [
            int(items[i].start_mark.line) + 1 if i < len(items) else None for i in range(len(keys))
        ]
    out: list[int | None] = []
    position = 0
    for key in keys:
        if side.where.mapping:
            pattern = re.escape(json.dumps(key, ensure_ascii=False)) + r"\s*:"
        else:
            needle = re.escape(json.dumps(key_field)) + r"\s*:\s*"
            pattern = needle + re.escape(json.dumps(key, ensure_ascii=False)) + r"(?![\w.])"
        match = re.compile(pattern).search(side.text, position)
        if match is None:
            out.append(None)
            continue
        position = match.end()
        out.append(side.text.count("\n", 0, match.start()) + 1)
    return out


def _yaml_key_lines(
    node: Node | None, path: tuple[str, ...], keys: Sequence[Any]
) -> list[int | None]:
    """Lines of the keys of a `{key: record}` mapping (the key line, not the value's)."""
    node = node_at(node, path)
    if not isinstance(node, MappingNode):
        return [None] * len(keys)
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return [lines.get(str(key)) for key in keys]


def read_book(side: Side, key_field: str, rule: PathRule, source: str) -> Book:
    if side.doc is None or side.where is None:
        return Book({}, None, None)
    found = side.where.get(side.doc.value)
    if side.where.mapping:
        items: list[tuple[Any, dict[str, Any]]] = [
            (k, v) for k, v in found.items() if isinstance(v, dict)
        ]
    else:
        items = [(r.get(key_field), r) for r in found]
    lines = _lines(side, [k for k, _ in items], key_field)
    records: dict[str, Record] = {}
    for number, ((raw_key, value), line) in enumerate(zip(items, lines, strict=True), start=1):
        key = key_text(raw_key)
        if key is None:
            raise UnparseableError(
                f"record #{number} has no usable key field {key_field!r} (value {raw_key!r})",
                file=source,
                line=line,
                hint="set `key` for this path in .github/countersign.yml",
            )
        if key in records:
            raise UnparseableError(
                f"duplicate key {key_field}={key!r} at lines {records[key].line} and {line}",
                file=source,
                line=line,
            )
        if side.fmt == "csv":
            value = {k.strip(): v.strip() for k, v in value.items()}
        records[key] = Record(key, value, line)
    outside, currency = _outside(side.doc.value, side.where, rule)
    return Book(records, outside, currency)


def _outside(value: Any, where: Where, rule: PathRule) -> tuple[Any, Any]:
    """The document without its records (book-level settings), and a book-wide currency.

    Scalars kept beside the records of a `{key: record}` mapping are settings too."""
    beside: dict[str, Any] = {}
    if where.mapping:
        records = where.get(value)
        beside = {str(k): v for k, v in records.items() if not isinstance(v, dict)}
        if not where.path:
            currency = beside.get(rule.currency_field or "currency")
            return (beside or None), currency
    if not where.path:
        return None, None
    root = dict(value)
    node = root
    currency = root.get(rule.currency_field or "currency")
    for part in where.path[:-1]:
        node[part] = dict(node[part])
        node = node[part]
        currency = node.get(rule.currency_field or "currency", currency)
    node[where.path[-1]] = {**beside, "<records>": True} if beside else "<records>"
    return root, currency
