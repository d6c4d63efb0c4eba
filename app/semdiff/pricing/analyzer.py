"""The pricing analyzer: which records of a price book (JSON, YAML or CSV) were added, removed
or repriced, with exact money arithmetic for the risk rules.

Records are matched by their key field, never by position, so reordering rows or columns,
re-quoting a CSV, or writing "10" as "10.00" is no change. Where the records sit is
pricing_book's concern, money pricing_money's, a record's change and facts pricing_record's,
tiers, discounts and limits pricing_terms'.
"""

from __future__ import annotations

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff
from app.semdiff.common.documents import structured_format
from app.semdiff.common.structure import diff_values, presence_op
from app.semdiff.pricing.book import Side, Where, detect, read_book, read_side
from app.semdiff.pricing.fields import (
    KEY_CANDIDATES,
    MAPPING_KEY_NAMES,
    discount_fields,
    key_field,
    price_fields,
)
from app.semdiff.pricing.money import money_text, parse_money
from app.semdiff.pricing.record import Vocabulary, record_change

__all__ = ["analyze", "detect", "money_text", "parse_money"]


def _key_field(base: Side, head: Side, rule: PathRule, path: str) -> str:
    """The field that names a record: configured, the singular of a `{key: record}` container
    (`skus` → `sku`), or the first candidate unique in every record of both sides."""
    where = head.where or base.where or Where((), False)
    if where.mapping:
        container = where.path[-1:]
        return rule.key or MAPPING_KEY_NAMES.get(container[0] if container else "", "key")
    sides = [s.rows for s in (base, head) if s.doc is not None]
    found = key_field(sides, rule) if any(sides) else rule.key or "key"
    if found is None:
        raise UnparseableError(
            "no key field found (tried " + ", ".join(KEY_CANDIDATES) + ")",
            file=path,
            hint="set `key` for this path in .github/countersign.yml",
        )
    return found


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """One change per added, removed or changed record, plus one for book-level settings."""
    fmt = structured_format(file.path) or "json"
    base_name = file.old_path or file.path
    base = read_side(file.base, fmt, base_name, rule)
    head = read_side(file.head, fmt, file.path, rule)
    if base.where and head.where and base.where != head.where:
        raise UnparseableError(
            f"price records moved from {'.'.join(base.where.path) or 'the top level'} "
            f"to {'.'.join(head.where.path) or 'the top level'}; review this file as a whole",
            file=file.path,
        )
    found_key = _key_field(base, head, rule, file.path)
    old_book = read_book(base, found_key, rule, base_name)
    new_book = read_book(head, found_key, rule, file.path)
    rows = base.rows + head.rows
    words = Vocabulary(file.path, found_key, price_fields(rows, rule), discount_fields(rows), rule)
    out: list[Change] = []
    for key in list(new_book.records) + [k for k in old_book.records if k not in new_book.records]:
        pair = (old_book.records.get(key), new_book.records.get(key))
        change = record_change(words, pair, (old_book, new_book))
        if change is not None:
            out.append(change)
    if book_fields := diff_values(old_book.outside or {}, new_book.outside or {}):
        op = presence_op(base.doc is not None, head.doc is not None)
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
