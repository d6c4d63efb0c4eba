"""Price-book vocabulary: money parsing, and which fields are keys and prices.

Money is parsed with Decimal, never float: "49.00 → 29.40" must be exactly -40 %.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from app.repo_config import PathRule

CONTAINER_KEYS = ("plans", "prices", "skus", "items", "products", "tariffs", "rates", "records")
# The singular of a container names the key of a `{key: record}` mapping (`skus` → `sku:pro`).
MAPPING_KEY_NAMES = {"plans": "plan", "skus": "sku", "products": "product", "tariffs": "tariff"}
KEY_CANDIDATES = (
    "id", "sku", "plan", "plan_code", "code", "price_id", "product_id", "name", "slug",
    "key", "zone", "tariff", "tariff_code",
)  # fmt: skip
PRICE_NAMES = (
    "price", "unit_amount", "unit_price", "amount", "monthly_usd", "net_price", "rate",
    "fee", "cost",
)  # fmt: skip
_PRICE_NAME = re.compile(
    r"^(price_.+|.+_price|amount_.+|.+_amount|.+_fee|.+_rate|.+_cost|.+_(usd|eur|gbp))$", re.I
)
_MONEY = re.compile(r"^(?P<sign>[+-]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d+))?$")
_SYMBOLS = "$€£¥"
MAX_DEPTH = 4


class NotMoney(ValueError):
    """A price field holds something that is not an amount."""


def parse_money(value: Any) -> Decimal | None:
    """An exact amount from a JSON/YAML number or a CSV string ("1,234.50", "$10"); blank → None."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise NotMoney(repr(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise NotMoney(repr(value))
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise NotMoney(repr(value))
    text = value.strip()
    if not text:
        return None
    sign = ""
    if text[0] in "+-":
        sign, text = text[0], text[1:].lstrip()
    text = text.strip(_SYMBOLS).strip()
    match = _MONEY.match(sign + text)
    if not match or not (match["int"] or match["frac"]):
        raise NotMoney(repr(value))
    try:
        return Decimal(sign + (match["int"] or "0").replace(",", "") + "." + (match["frac"] or "0"))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise NotMoney(repr(value)) from exc


def money_text(amount: Decimal | None) -> str | None:
    """An amount as exact text with at least cents: 49 → "49.00", 0.28740 → "0.2874"."""
    if amount is None:
        return None
    amount = amount.normalize()
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        amount = amount.quantize(Decimal("0.01"))
    return f"{amount:f}"


def price_like(name: str, rule: PathRule) -> bool:
    if rule.price_fields is not None:
        return name in rule.price_fields
    if name.lower().endswith(("_id", "_code")):
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
        for name, value in rec.items():
            if name in names or not price_like(str(name), rule) or not numeric(value):
                continue
            if all(not isinstance(r.get(name), dict | list) for r in records):
                names.append(str(name))
    order = {n: i for i, n in enumerate(PRICE_NAMES)}
    return tuple(sorted(names, key=lambda n: (order.get(n.lower(), len(order)), n)))


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
