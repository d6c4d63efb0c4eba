"""Price-book vocabulary: which fields are keys, prices, discounts and limits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.config.repo import PathRule
from app.semdiff.pricing.money import NotMoney, parse_money

CONTAINER_KEYS = (
    "plans", "prices", "skus", "items", "products", "tariffs", "rates", "records", "coupons",
    "discounts", "promotions", "promotion_codes", "addons", "add_ons", "models",
)  # fmt: skip
# The singular of a container names the key of a `{key: record}` mapping (`skus` → `sku:pro`).
MAPPING_KEY_NAMES = {"plans": "plan", "skus": "sku", "products": "product", "tariffs": "tariff"}
KEY_CANDIDATES = (
    "id", "sku", "plan", "plan_id", "plan_code", "code", "price_id", "product_id", "coupon_id",
    "lookup_key", "name", "slug", "key", "zone", "tariff", "tariff_code",
)  # fmt: skip
PRICE_NAMES = (
    "price", "unit_amount", "unit_amount_decimal", "unit_price", "amount", "monthly_usd",
    "net_price", "rate", "fee", "cost",
)  # fmt: skip
_PRICE_NAME = re.compile(
    r"^(price_.+|.+_price|amount_.+|.+_amount|.+_fee|.+_rate|.+_cost|.+_cost_per_.+"
    r"|.+_(usd|eur|gbp)|.+_[mk]tok)$",
    re.I,
)
"""`input_mtok`: a price per million (`ktok`: thousand) tokens, as AI model price tables write it."""
MAX_DEPTH = 4
# Discounts: a bigger one is a price cut. Percentages and amounts off a price.
PERCENT_DISCOUNTS = ("percent_off", "discount_percent", "discount_pct", "percentage_off")
AMOUNT_DISCOUNTS = ("amount_off", "discount_amount")
DISCOUNT_FIELDS = frozenset({*PERCENT_DISCOUNTS, *AMOUNT_DISCOUNTS})
# Stripe coupon durations, shortest to longest: a longer one gives more away.
DURATION_RANK = {"once": 0, "repeating": 1, "forever": 2}
# Non-price entitlements: `limits.projects`, `seats_included`, `max_users`, `api_calls_limit`.
LIMIT_CONTAINERS = frozenset({"limits", "quotas", "entitlements", "allowances", "usage_limits"})
_LIMIT_NAME = re.compile(
    r"^(seats|users|projects|seats_included|included_.+|max_.+|.+_limit|.+_quota)$", re.I
)
UNLIMITED = frozenset({"unlimited", "inf", "infinity", "-1"})


def price_like(name: str, rule: PathRule) -> bool:
    if rule.price_fields is not None:
        return name in rule.price_fields
    name = name.rsplit(".", 1)[-1]
    if name.lower().endswith(("_id", "_code")) or name.lower() in DISCOUNT_FIELDS:
        return False
    return name.lower() in PRICE_NAMES or bool(_PRICE_NAME.match(name))


def numeric(value: Any) -> bool:
    try:
        return parse_money(value) is not None
    except NotMoney:
        return False


def price_fields(records: Sequence[dict[str, Any]], rule: PathRule) -> tuple[str, ...]:
    """Configured price fields, else price-named fields holding an amount in some record."""
    if rule.price_fields is not None:
        return tuple(rule.price_fields)
    names: list[str] = []
    for rec in records:
        for name, value in _candidates(rec):
            if name in names or not price_like(name, rule) or not numeric(value):
                continue
            if all(not isinstance(field_value(r, name), dict | list) for r in records):
                names.append(name)
    order = {n: i for i, n in enumerate(PRICE_NAMES)}
    # Known names first (`price` before `setup_fee`), others as the book writes them
    # (`monthly_price` before `annual_price`).
    return tuple(sorted(names, key=lambda n: (order.get(n.lower(), len(order)), names.index(n))))


def _candidates(record: dict[str, Any]) -> list[tuple[str, Any]]:
    """A record's fields, and one level into a nested price map (`prices.input_mtok`)."""
    out: list[tuple[str, Any]] = []
    for name, value in record.items():
        out.append((str(name), value))
        if isinstance(value, dict):
            out.extend((f"{name}.{sub}", field_value(record, f"{name}.{sub}")) for sub in value)
    return out


def field_value(record: dict[str, Any], name: str) -> Any:
    """A price field's value: a top-level field, or `map.field` inside a nested price map,
    where `{base: 1, tiers: [...]}` is read as its base price (the tiers stay plain fields)."""
    if name in record:
        return record[name]
    head, _, tail = name.partition(".")
    inner = record.get(head)
    value = inner.get(tail) if tail and isinstance(inner, dict) else None
    if isinstance(value, dict) and "base" in value:
        return value["base"]
    return value


def key_text(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def key_field(sides: Sequence[list[dict[str, Any]]], rule: PathRule) -> str | None:
    """`rule.key`, else the first candidate present and unique in every record of each side."""
    if rule.key:
        return rule.key
    for name in KEY_CANDIDATES:
        ok = any(sides)
        for records in sides:
            keys = [key_text(r.get(name)) for r in records]
            if None in keys or len(set(keys)) != len(keys):
                ok = False
        if ok:
            return name
    return None


def discount_fields(records: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    """Discount fields (percent or amount off) present in some record, percentages first."""
    present = {str(name) for rec in records for name in rec}
    return tuple(n for n in (*PERCENT_DISCOUNTS, *AMOUNT_DISCOUNTS) if n in present)


def is_limit(path: str) -> bool:
    """A field path naming a non-price entitlement (`limits.projects`, `seats_included`)."""
    parts = path.split(".")
    return parts[0].lower() in LIMIT_CONTAINERS or bool(_LIMIT_NAME.match(parts[-1]))
