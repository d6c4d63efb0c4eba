"""Every price move of a record, named and readable: `input_cost_per_token 0.0375 → 0.15 per 1M
tokens (+300 %)`.

A record can move several amounts at once (an input price cut hidden behind an output price
raise); each is listed, largest first, so no move hides behind another. A price that goes from
0 to an amount is a move with no percentage (`from 0`). Per-unit prices far below a cent
(`*_per_token`, `*_per_character`…) are shown per million units, the way providers publish
them; the facts keep the exact amounts as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from app.semdiff.pricing.money import money_text
from app.semdiff.pricing.terms import Move

__all__ = ["moves_facts", "non_positive", "readable"]

_PER_UNIT = re.compile(r"per_(?P<unit>token|character|char|pixel|byte|image_token|audio_token)s?$")
UNIT_NAMES = {"char": "character"}
MILLION = Decimal(1_000_000)
SMALL = Decimal("0.001")


def readable(label: str, before: Decimal, after: Decimal) -> tuple[str, str, str]:
    """(before, after, unit suffix) as a reviewer reads them."""
    unit = _PER_UNIT.search(label.rsplit(".", 1)[-1])
    if unit is not None and max(abs(before), abs(after)) < SMALL:
        name = UNIT_NAMES.get(unit["unit"], unit["unit"]).replace("_", " ")
        suffix = f" per 1M {name}s"
        return _short(before * MILLION), _short(after * MILLION), suffix
    return money_text(before) or "0", money_text(after) or "0", ""


def _short(value: Decimal) -> str:
    return money_text(value.quantize(Decimal("0.000001")) if value else value) or "0"


def _pct(move: Move) -> str:
    return "from 0" if move.pct is None else f"{move.pct:+g} %"


def moves_facts(moves: Sequence[Move]) -> dict[str, Any]:
    """`moves` (every move, exact) and `moves_text` (every move, readable), largest first."""
    if not moves:
        return {}
    ordered = sorted(moves, key=lambda m: -1.0 if m.pct is None else -abs(m.pct))
    listed = [
        {
            "field": m.label,
            "before": money_text(m.before),
            "after": money_text(m.after),
            "delta_pct": m.pct,
        }
        for m in ordered
    ]
    texts = []
    for m in ordered:
        before, after, unit = readable(m.label, m.before, m.after)
        texts.append(f"{m.label} {before} → {after}{unit} ({_pct(m)})")
    return {"moves": listed, "moves_text": "; ".join(texts)}


def non_positive(moves: Sequence[Move]) -> list[str]:
    """Amounts this change takes to zero or below: from a positive amount, or to a negative one.
    A price that was 0 and stays 0 (a free model gaining a 0.0 cache price) moves nothing."""
    return [m.label for m in moves if (m.after <= 0 < m.before) or m.after < 0]
