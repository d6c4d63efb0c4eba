"""Money: exact amounts from what price books write, and exact percentage moves.

Parsed with Decimal, never float: "49.00 → 29.40" must be exactly -40 %. Stripe-style books
write integer minor units (`unit_amount: 4900` with `currency: usd` is 49.00); zero-decimal
currencies (JPY, KRW…) have no minor unit, so `unit_amount: 4900` in JPY is ¥4900.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MINOR_UNIT_FIELDS",
    "NotMoney",
    "amount",
    "currency_exponent",
    "delta_pct",
    "money_text",
    "parse_money",
]

# Fields Stripe (and books modelled on its API) write in the currency's minor unit.
MINOR_UNIT_FIELDS = frozenset(
    {"unit_amount", "flat_amount", "amount_off", "unit_amount_decimal", "flat_amount_decimal"}
)
# Stripe's zero-decimal and three-decimal currencies; every other currency has cents.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
     "xaf", "xof", "xpf"}
)  # fmt: skip
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})

_MONEY = re.compile(r"^(?P<sign>[+-]?)(?P<int>\d{1,3}(?:,\d{3})+|\d+)?(?:\.(?P<frac>\d+))?$")
_SYMBOLS = "$€£¥"


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


def currency_exponent(currency: Any) -> int:
    """Digits after the decimal point of `currency`'s minor unit (USD 2, JPY 0, KWD 3)."""
    code = currency.strip().lower() if isinstance(currency, str) else ""
    if code in ZERO_DECIMAL:
        return 0
    return 3 if code in THREE_DECIMAL else 2


def amount(field: str, value: Any, currency: Any) -> Decimal | None:
    """The amount a field states, in major units: Stripe minor-unit fields (an integer, or a
    decimal string for `*_decimal`) are scaled by the currency's exponent when a currency is
    known; everything else is read as written."""
    parsed = parse_money(value)
    minor = (
        field in MINOR_UNIT_FIELDS
        and currency not in (None, "")
        and (
            (isinstance(value, int) and not isinstance(value, bool))
            or (field.endswith("_decimal") and isinstance(value, str))
        )
    )
    if parsed is None or not minor:
        return parsed
    return parsed.scaleb(-currency_exponent(currency))


def money_text(value: Decimal | None) -> str | None:
    """An amount as exact text with at least cents: 49 → "49.00", 0.28740 → "0.2874"."""
    if value is None:
        return None
    value = value.normalize()
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


def delta_pct(before: Decimal | None, after: Decimal | None) -> float | None:
    """The exact move from `before` to `after` in percent, rounded to 0.01; None without a base."""
    if before is None or after is None or before == 0:
        return None
    # abs(): a credit going from -10 to -5 is a +50 % move, whatever the sign convention.
    return float(((after - before) / abs(before) * 100).quantize(Decimal("0.01")))
