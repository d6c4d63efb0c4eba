"""The pricing analyzer: which records of a price book (JSON, YAML or CSV) were added, removed
or repriced, with exact money arithmetic for the risk rules.

Records are matched by their key field, never by position, so reordering rows or columns,
re-quoting a CSV, or writing "10" as "10.00" is no change. Money is parsed with Decimal: floats
would make "49.00 → 29.40" a -39.99999 % cut. Facts carry prices twice: as exact strings (for
people and audit) and as floats (for CEL comparisons in risk rules).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node

from app.errors import UnparseableError
from app.models import Change, FieldChange, FileDiff, Op
from app.repo_config import PathRule
from app.semdiff.documents import Format, decode_text, read_documents, structured_format
from app.semdiff.pricing_fields import (
    CONTAINER_KEYS,
    KEY_CANDIDATES,
    MAPPING_KEY_NAMES,
    MAX_DEPTH,
    NotMoney,
    money_text,
    parse_money,
)
from app.semdiff.pricing_fields import key_field as _key_field
from app.semdiff.pricing_fields import key_text as _key_text
from app.semdiff.pricing_fields import price_fields as _price_fields
from app.semdiff.pricing_fields import price_like as _price_like
from app.semdiff.structure import diff_values
from app.yamlsafe import YamlDocument, line_of

__all__ = ["analyze", "detect", "money_text", "parse_money"]


@dataclass(frozen=True)
class _Record:
    key: str
    value: dict[str, Any]
    line: int | None


@dataclass(frozen=True)
class _Book:
    """One side of a price book: records by key, plus whatever lies outside the records."""

    records: dict[str, _Record]
    outside: Any
    currency: Any


@dataclass(frozen=True)
class _Where:
    """Where the records sit in a document: a path of keys, and list or `{key: record}` shape."""

    path: tuple[str, ...]
    mapping: bool

    def get(self, value: Any) -> Any:
        for part in self.path:
            value = value.get(part) if isinstance(value, dict) else None
        return value


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, dict) for v in value)


def _is_mapping_of_records(value: Any, rule: PathRule) -> bool:
    if (
        not isinstance(value, dict)
        or not value
        or not all(isinstance(v, dict) for v in value.values())
    ):
        return False
    return any(_price_like(name, rule) for rec in value.values() for name in rec)


def _locate(value: Any, rule: PathRule, path: tuple[str, ...] = ()) -> _Where | None:
    """The record list (top level, a container key, the only list of dicts) or record mapping."""
    if _is_records(value) and (value or not path):
        return _Where(path, False)
    if not isinstance(value, dict) or len(path) >= MAX_DEPTH:
        return None
    for name in CONTAINER_KEYS:
        child = value.get(name)
        if _is_records(child):
            return _Where((*path, name), False)
        if _is_mapping_of_records(child, rule):
            return _Where((*path, name), True)
    lists = [k for k, v in value.items() if _is_records(v) and v]
    if len(lists) == 1:
        return _Where((*path, str(lists[0])), False)
    if _is_mapping_of_records(value, rule):
        return _Where(path, True)
    for name, child in value.items():
        if isinstance(child, dict) and (found := _locate(child, rule, (*path, str(name)))):
            return found
    return None


@dataclass(frozen=True)
class _Side:
    """A parsed side before keying: the document, its records' location and the raw text."""

    doc: YamlDocument | None
    where: _Where | None
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


def _read_side(data: bytes | None, fmt: Format, source: str, rule: PathRule) -> _Side:
    if data is None:
        return _Side(None, None, "", fmt, source)
    docs = [d for d in read_documents(data, fmt, source) if d.value is not None]
    if len(docs) > 1:
        raise UnparseableError(
            "a price book must be one YAML document", file=source, line=docs[1].line
        )
    text = decode_text(data, source)
    if not docs:
        return _Side(None, None, text, fmt, source)
    where = _locate(docs[0].value, rule)
    if where is None:
        raise UnparseableError(
            "no list of price records found",
            file=source,
            line=docs[0].line,
            hint="put records under `plans`/`prices`/`skus`, or set `kind`/`key` in countersign.yml",
        )
    return _Side(docs[0], where, text, fmt, source)


def detect(docs: Sequence[YamlDocument], rule: PathRule) -> bool:
    """True for a configured pricing path, or a keyed record list with a price-like amount."""
    if rule.kind == "pricing":
        return True
    values = [d.value for d in docs if d.value is not None]
    if len(values) != 1 or (where := _locate(values[0], rule)) is None:
        return False
    found = where.get(values[0])
    records = list(found.values()) if where.mapping else list(found)
    if not records or not _price_fields(records, rule):
        return False
    return where.mapping or _key_field([records], rule) is not None


def _lines(side: _Side, keys: Sequence[Any], key_field: str) -> list[int | None]:
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
        path: tuple[str | int, ...] = side.where.path
        return [line_of(side.doc.node, (*path, i)) for i in range(len(keys))]
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
    for part in path:
        pairs = node.value if isinstance(node, MappingNode) else []
        node = next((v for k, v in pairs if getattr(k, "value", None) == part), None)
    if not isinstance(node, MappingNode):
        return [None] * len(keys)
    lines = {str(k.value): k.start_mark.line + 1 for k, _ in node.value}
    return [lines.get(str(key)) for key in keys]


def _book(side: _Side, key_field: str, rule: PathRule, source: str) -> _Book:
    if side.doc is None or side.where is None:
        return _Book({}, None, None)
    found = side.where.get(side.doc.value)
    if side.where.mapping:
        items: list[tuple[Any, dict[str, Any]]] = [(k, v) for k, v in found.items()]
    else:
        items = [(r.get(key_field), r) for r in found]
    lines = _lines(side, [k for k, _ in items], key_field)
    records: dict[str, _Record] = {}
    for number, ((raw_key, value), line) in enumerate(zip(items, lines, strict=True), start=1):
        key = _key_text(raw_key)
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
        records[key] = _Record(key, value, line)
    outside, currency = _outside(side.doc.value, side.where, rule)
    return _Book(records, outside, currency)


def _outside(value: Any, where: _Where, rule: PathRule) -> tuple[Any, Any]:
    """The document without its records (book-level settings), and a book-wide currency."""
    if not where.path:
        return None, None
    root = dict(value)
    node = root
    currency = root.get(rule.currency_field or "currency")
    for part in where.path[:-1]:
        node[part] = dict(node[part])
        node = node[part]
        currency = node.get(rule.currency_field or "currency", currency)
    node[where.path[-1]] = "<records>"
    return root, currency


def _currency(record: _Record | None, book: _Book, rule: PathRule) -> Any:
    if record is None:
        return None
    name = rule.currency_field or "currency"
    for field, value in record.value.items():
        if field.lower() == name.lower() and value not in (None, ""):
            return value
    return book.currency


def _amounts(
    record: _Record | None, fields: Sequence[str], source: str
) -> dict[str, Decimal | None]:
    if record is None:
        return dict.fromkeys(fields)
    out: dict[str, Decimal | None] = {}
    for name in fields:
        try:
            out[name] = parse_money(record.value.get(name))
        except NotMoney as exc:
            raise UnparseableError(
                f"price field {name!r} of record {record.key!r} is not an amount: {exc}",
                file=source,
                line=record.line,
                hint='write a plain number such as 1234.50 or "1,234.50"',
            ) from exc
    return out


def _record_change(
    source: str,
    key_field: str,
    pair: tuple[_Record | None, _Record | None],
    books: tuple[_Book, _Book],
    fields: Sequence[str],
    rule: PathRule,
) -> Change | None:
    before, after = pair
    record = after or before
    if record is None:
        return None
    old, new = _amounts(before, fields, source), _amounts(after, fields, source)
    cur_before, cur_after = _currency(before, books[0], rule), _currency(after, books[1], rule)
    plain = diff_values(
        {k: v for k, v in (before.value if before else {}).items() if k not in fields},
        {k: v for k, v in (after.value if after else {}).items() if k not in fields},
    )
    money = [
        FieldChange(path=name, before=_shown(before, name), after=_shown(after, name))
        for name in fields
        if old[name] != new[name]
    ]
    currency_name = (rule.currency_field or "currency").lower()
    own = any(k.lower() == currency_name for r in pair if r for k in r.value)
    if before and after and cur_before != cur_after and not own:
        plain.append(FieldChange(path="currency", before=cur_before, after=cur_after))
    changed = sorted(plain + money, key=lambda f: f.path)
    if before and after and not changed:
        return None
    op: Op = "create" if before is None else "delete" if after is None else "update"
    main = fields[0] if fields else None
    facts: dict[str, Any] = {
        "key_field": key_field,
        "key": record.key,
        "price_field": main,
        "currency_before": cur_before,
        "currency_after": cur_after,
        "currency_changed": op == "update" and cur_before != cur_after,
    }
    p_before, p_after = (old[main], new[main]) if main else (None, None)
    facts |= {
        "price_before": money_text(p_before),
        "price_after": money_text(p_after),
        "price_before_num": None if p_before is None else float(p_before),
        "price_after_num": None if p_after is None else float(p_after),
        "price_delta_pct": _delta(p_before, p_after) if op == "update" else None,
    }
    if len(fields) > 1:
        facts["prices"] = {
            n: {
                "before": money_text(old[n]),
                "after": money_text(new[n]),
                "delta_pct": _delta(old[n], new[n]),
            }
            for n in fields
        }
    return Change(
        file=source,
        kind="pricing",
        address=f"{key_field}:{record.key}",
        op=op,
        fields=tuple(changed),
        facts=facts,
        line=record.line,
    )


def _shown(record: _Record | None, name: str) -> Any:
    if record is None:
        return None
    value = record.value.get(name)
    return None if value == "" else value


def _delta(before: Decimal | None, after: Decimal | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    # abs(): a credit going from -10 to -5 is a +50 % move, whatever the sign convention.
    return float(((after - before) / abs(before) * 100).quantize(Decimal("0.01")))


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """One change per added, removed or changed record, plus one for book-level settings."""
    fmt = structured_format(file.path) or "json"
    base_name = file.old_path or file.path
    base = _read_side(file.base, fmt, base_name, rule)
    head = _read_side(file.head, fmt, file.path, rule)
    if base.where and head.where and base.where != head.where:
        raise UnparseableError(
            f"price records moved from {'.'.join(base.where.path) or 'the top level'} "
            f"to {'.'.join(head.where.path) or 'the top level'}; review this file as a whole",
            file=file.path,
        )
    mapping = (head.where or base.where or _Where((), False)).mapping
    if mapping:
        container = (head.where or base.where or _Where((), True)).path[-1:]
        key_field = rule.key or MAPPING_KEY_NAMES.get(container[0] if container else "", "key")
    else:
        sides = [s.rows for s in (base, head) if s.doc is not None]
        found = _key_field(sides, rule) if any(sides) else rule.key or "key"
        if found is None:
            raise UnparseableError(
                "no key field found (tried " + ", ".join(KEY_CANDIDATES) + ")",
                file=file.path,
                hint="set `key` for this path in .github/countersign.yml",
            )
        key_field = found
    old_book = _book(base, key_field, rule, base_name)
    new_book = _book(head, key_field, rule, file.path)
    fields = _price_fields(base.rows + head.rows, rule)
    out: list[Change] = []
    for key in list(new_book.records) + [k for k in old_book.records if k not in new_book.records]:
        pair = (old_book.records.get(key), new_book.records.get(key))
        change = _record_change(file.path, key_field, pair, (old_book, new_book), fields, rule)
        if change is not None:
            out.append(change)
    if book_fields := diff_values(old_book.outside or {}, new_book.outside or {}):
        op: Op = "create" if base.doc is None else "delete" if head.doc is None else "update"
        out.append(
            Change(
                file=file.path,
                kind="pricing",
                address=file.path,
                op=op,
                fields=tuple(book_fields),
                facts={"book_settings": True},
                line=1,
            )
        )
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out
