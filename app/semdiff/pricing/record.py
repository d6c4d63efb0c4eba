"""The change of one price record: its fields, and the facts risk rules read.

Facts carry prices twice: as exact strings (for people and audit) and as floats (for CEL). The
record's `price_field` is its first price field (`price`, then `unit_amount`…); `max_delta_*`
is its largest move over every amount it states (each price field, each tier, a percentage
discount's effect), so a 25 % cut of an annual price weighs what a monthly cut does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FieldChange, Op
from app.semdiff.common.structure import diff_values, presence_op, same
from app.semdiff.pricing.book import Book, Record
from app.semdiff.pricing.fields import field_value
from app.semdiff.pricing.money import NotMoney, amount, delta_pct, money_text
from app.semdiff.pricing.moves import moves_facts, non_positive
from app.semdiff.pricing.terms import (
    Move,
    discount_facts,
    limit_facts,
    move,
    tier_facts,
    tier_fields,
    tiers,
)

__all__ = ["Vocabulary", "record_change"]


@dataclass(frozen=True)
class Vocabulary:
    """What the fields of this book are: its key, price and discount fields."""

    source: str
    key_field: str
    prices: tuple[str, ...]
    discounts: tuple[str, ...]
    rule: PathRule


def _currency(record: Record | None, book: Book, rule: PathRule) -> Any:
    if record is None:
        return None
    name = rule.currency_field or "currency"
    for field, value in record.value.items():
        if field.lower() == name.lower() and value not in (None, ""):
            return value
    return book.currency


def _amounts(
    record: Record | None, fields: Sequence[str], currency: Any, source: str
) -> dict[str, Decimal | None]:
    if record is None:
        return dict.fromkeys(fields)
    out: dict[str, Decimal | None] = {}
    for name in fields:
        try:
            out[name] = amount(name, field_value(record.value, name), currency)
        except NotMoney as exc:
            raise UnparseableError(
                f"field {name!r} of record {record.key!r} is not an amount: {exc}",
                file=source,
                line=record.line,
                hint='write a plain number such as 1234.50 or "1,234.50"',
            ) from exc
    return out


def _shown(record: Record | None, name: str) -> Any:
    if record is None:
        return None
    value = field_value(record.value, name)
    return None if value == "" else value


def _fields(
    words: Vocabulary,
    pair: tuple[Record | None, Record | None],
    amounts: tuple[dict[str, Decimal | None], dict[str, Decimal | None]],
    currencies: tuple[Any, Any],
) -> list[FieldChange]:
    before, after = pair
    tiers_b, tiers_a = (tiers(r.value if r else None) for r in pair)
    tiered = (tiers_b is not None or before is None) and (tiers_a is not None or after is None)
    skip = {*words.prices, *(("tiers",) if tiered else ())}
    plain = diff_values(
        {k: v for k, v in (before.value if before else {}).items() if k not in skip},
        {k: v for k, v in (after.value if after else {}).items() if k not in skip},
    )
    nested = {*words.prices, *(f"{n}.base" for n in words.prices)}
    plain = [f for f in plain if f.path not in nested]  # shown below as the price field
    if tiered:
        plain.extend(tier_fields(tiers_b, tiers_a))
    old, new = amounts
    plain.extend(
        FieldChange(path=name, before=_shown(before, name), after=_shown(after, name))
        for name in words.prices
        if old[name] != new[name] and not same(_shown(before, name), _shown(after, name))
    )
    currency_name = (words.rule.currency_field or "currency").lower()
    own = any(k.lower() == currency_name for r in pair if r for k in r.value)
    if before and after and currencies[0] != currencies[1] and not own:
        plain.append(FieldChange(path="currency", before=currencies[0], after=currencies[1]))
    return sorted(plain, key=lambda f: f.path)


def _price_facts(
    fields: Sequence[str],
    old: dict[str, Decimal | None],
    new: dict[str, Decimal | None],
    op: Op,
) -> dict[str, Any]:
    main = fields[0] if fields else None
    p_before, p_after = (old[main], new[main]) if main else (None, None)
    facts: dict[str, Any] = {
        "price_field": main,
        "price_before": money_text(p_before),
        "price_after": money_text(p_after),
        "price_before_num": None if p_before is None else float(p_before),
        "price_after_num": None if p_after is None else float(p_after),
        "price_delta_pct": delta_pct(p_before, p_after) if op == "update" else None,
    }
    if len(fields) > 1:
        facts["prices"] = {
            n: {
                "before": money_text(old[n]),
                "after": money_text(new[n]),
                "delta_pct": delta_pct(old[n], new[n]),
            }
            for n in fields
        }
    return facts


def _largest(moves: Sequence[Move]) -> dict[str, Any]:
    """The largest move (ties: the first, the list price before tiers and discounts)."""
    finite = [m for m in moves if m.pct is not None]
    best = max(finite, key=lambda m: abs(m.pct or 0.0), default=None)
    return {
        "max_delta_pct": best.pct if best else None,
        "max_delta_field": best.label if best else None,
        "max_delta_before": money_text(best.before) if best else None,
        "max_delta_after": money_text(best.after) if best else None,
    }


def record_change(
    words: Vocabulary, pair: tuple[Record | None, Record | None], books: tuple[Book, Book]
) -> Change | None:
    """The change of one record (None when nothing differs that a reader would see)."""
    before, after = pair
    record = after or before
    if record is None:
        return None
    currencies = (
        _currency(before, books[0], words.rule),
        _currency(after, books[1], words.rule),
    )
    old = _amounts(before, words.prices, currencies[0], words.source)
    new = _amounts(after, words.prices, currencies[1], words.source)
    changed = _fields(words, pair, (old, new), currencies)
    if before and after and not changed:
        return None
    op = presence_op(before is not None, after is not None)
    facts: dict[str, Any] = {
        "key_field": words.key_field,
        "key": record.key,
        "currency_before": currencies[0],
        "currency_after": currencies[1],
        "currency_changed": op == "update" and currencies[0] != currencies[1],
        **_price_facts(words.prices, old, new, op),
    }
    moves = [m for name in words.prices if (m := move(name, old[name], new[name]))]
    b_value, a_value = (before.value if before else None), (after.value if after else None)
    tiers_b, tiers_a = tiers(b_value), tiers(a_value)
    if tiers_b or tiers_a:
        tier, tier_moves = tier_facts(tiers_b, tiers_a, currencies)
        mode_b, mode_a = (v.get("tiers_mode") if v else None for v in (b_value, a_value))
        facts |= tier | {
            "tiers_mode_before": mode_b,
            "tiers_mode_after": mode_a,
            "tiers_mode_changed": op == "update" and mode_b != mode_a,
        }
        moves.extend(tier_moves)
    discount: dict[str, Any] = {}
    if words.discounts:
        discount, discount_moves = discount_facts(words.discounts, b_value, a_value, currencies)
        facts |= discount
        moves.extend(discount_moves)
    if not discount:  # a coupon's `max_redemptions` limits the discount, not the customer
        facts |= limit_facts(changed)
    facts |= _largest(moves if op == "update" else [])
    facts |= moves_facts(moves if op == "update" else [])
    if op == "update":
        facts["non_positive_moves"] = non_positive(moves)
    return Change(
        file=words.source,
        kind="pricing",
        address=f"{words.key_field}:{record.key}",
        op=op,
        fields=tuple(changed),
        facts=facts,
        line=record.line,
    )
