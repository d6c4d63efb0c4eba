"""The terms of a price record beyond its list price: graduated or volume tiers, discounts and
non-price limits. Each gives facts in the record's own change, and price moves (`Move`) that
the record's largest move is chosen from, so a cut hidden in a tier or a coupon weighs the same
as a cut of the list price.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from app.core.models import FieldChange
from app.semdiff.common.data import diff_tree
from app.semdiff.pricing.fields import (
    DURATION_RANK,
    PERCENT_DISCOUNTS,
    UNLIMITED,
    is_limit,
)
from app.semdiff.pricing.money import amount, delta_pct, money_text

__all__ = [
    "Move", "discount_facts", "limit_facts", "move", "tier_facts", "tier_fields", "tiers",
]  # fmt: skip

TIER_AMOUNTS = ("unit_amount", "flat_amount", "unit_amount_decimal", "flat_amount_decimal")
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Move:
    """One amount of a record moving: a price field, a tier amount, a discount's effect."""

    label: str
    before: Decimal
    after: Decimal
    pct: float | None
    """None for a move from 0, which has no percentage."""


def move(label: str, before: Decimal | None, after: Decimal | None) -> Move | None:
    if before is None or after is None or before == after:
        return None
    pct = delta_pct(before, after)
    if pct == 0:
        return None
    return Move(label, before, after, pct)


# -- tiers -------------------------------------------------------------------------------------


def _tier_key(up_to: Any) -> str | None:
    if up_to is None or (isinstance(up_to, str) and up_to.strip().lower() == "inf"):
        return "up_to=inf"
    if isinstance(up_to, int | float | str) and not isinstance(up_to, bool):
        return f"up_to={up_to}"
    return None


def tiers(value: dict[str, Any] | None) -> dict[str, dict[str, Any]] | None:
    """A record's `tiers` keyed by their `up_to` (`up_to=1000`, `up_to=inf`), or None when it
    has none or they are not tier records (then they are compared as plain fields)."""
    raw = (value or {}).get("tiers")
    if not isinstance(raw, list) or not all(isinstance(t, dict) and "up_to" in t for t in raw):
        return None
    keyed = {_tier_key(t["up_to"]): t for t in raw}
    if None in keyed or len(keyed) != len(raw):
        return None
    return {str(k): t for k, t in keyed.items()}


def tier_fields(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldChange]:
    """Field changes of the tiers, one path per tier and field: `tiers[up_to=1000].unit_amount`."""
    b, a = before or {}, after or {}
    out: list[FieldChange] = []
    for key in [*b, *(k for k in a if k not in b)]:
        out.extend(diff_tree(b.get(key), a.get(key), f"tiers[{key}]"))
    return out


def tier_facts(
    before: dict[str, dict[str, Any]] | None,
    after: dict[str, dict[str, Any]] | None,
    currencies: tuple[Any, Any],
) -> tuple[dict[str, Any], list[Move]]:
    """`tiers`: each tier's amounts before/after with the exact move; and the moves."""
    b, a = before or {}, after or {}
    facts: dict[str, Any] = {}
    moves: list[Move] = []
    for key in [*b, *(k for k in a if k not in b)]:
        entry: dict[str, Any] = {}
        for field in TIER_AMOUNTS:
            old = amount(field, b.get(key, {}).get(field), currencies[0])
            new = amount(field, a.get(key, {}).get(field), currencies[1])
            if old is None and new is None:
                continue
            entry[field] = {
                "before": money_text(old),
                "after": money_text(new),
                "delta_pct": delta_pct(old, new),
            }
            if found := move(f"tiers[{key}].{field}", old, new):
                moves.append(found)
        if entry:
            facts[key] = entry
    return {"tiers": facts}, moves


# -- discounts ---------------------------------------------------------------------------------


def _percent(text: Decimal | None) -> str | None:
    return None if text is None else f"{text.normalize():f}"


def discount_facts(
    fields: Sequence[str],
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    currencies: tuple[Any, Any],
) -> tuple[dict[str, Any], list[Move]]:
    """A coupon's or discount's size and duration. A bigger discount, or a longer one, is a
    price cut (`discount_increased`); a percentage's effect on the price is a move: 20 % → 50 %
    off takes the price from 80 % to 50 % of list, a -37.5 % move."""
    b, a = before or {}, after or {}
    field = next((f for f in fields if b.get(f) is not None or a.get(f) is not None), None)
    if field is None:
        return {}, []
    old = amount(field, b.get(field), currencies[0])
    new = amount(field, a.get(field), currencies[1])
    percent = field in PERCENT_DISCOUNTS
    shown = _percent if percent else money_text
    duration_b, duration_a = b.get("duration"), a.get("duration")
    longer = DURATION_RANK.get(str(duration_a), -1) > DURATION_RANK.get(str(duration_b), 3) or (
        duration_b == duration_a == "repeating"
        and isinstance(b.get("duration_in_months"), int)
        and isinstance(a.get("duration_in_months"), int)
        and a["duration_in_months"] > b["duration_in_months"]
    )
    both = before is not None and after is not None
    facts: dict[str, Any] = {
        "discount_field": field,
        "discount_before": shown(old),
        "discount_after": shown(new),
        "discount_delta_pct": delta_pct(old, new),
        "duration_before": duration_b,
        "duration_after": duration_a,
        "discount_increased": both
        and ((old is not None and new is not None and new > old) or longer),
    }
    moves: list[Move] = []
    if percent and both and old is not None and new is not None:
        if found := move(f"{field} (price as % of list)", HUNDRED - old, HUNDRED - new):
            moves.append(found)
    return facts, moves


# -- limits ------------------------------------------------------------------------------------


def _limit(value: Any) -> Decimal | None:
    """A limit as a number; unlimited (`unlimited`, `-1`, `inf`) as infinity; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return Decimal("Infinity") if value == -1 else Decimal(str(value))
    if isinstance(value, str):
        text = value.strip().lower()
        if text in UNLIMITED:
            return Decimal("Infinity")
        try:
            number = Decimal(text)
        except ArithmeticError:
            return None
        return None if number.is_nan() else number
    return None


def limit_facts(changes: Sequence[FieldChange]) -> dict[str, Any]:
    """`limits`: each changed entitlement (`limits.projects`, `seats_included`) before/after;
    `limit_reduced` when one goes down (customers get less for the same price)."""
    limits: dict[str, Any] = {}
    reduced = False
    for change in changes:
        if not is_limit(change.path):
            continue
        old, new = _limit(change.before), _limit(change.after)
        if old is None or new is None:
            continue
        limits[change.path] = {"before": change.before, "after": change.after}
        reduced = reduced or new < old
    if not limits:
        return {}
    return {"limits": limits, "limit_reduced": reduced}
