"""A big tariff book like utilities publish (one row per tariff, zone and customer class).

Generated, not fetched: deterministic rows in the shape of `tests/fixtures/pricing/
zone_tariffs.csv`, sized past GraphQL's 512,000-byte cut so the last rows are beyond it.
"""

from __future__ import annotations

ZONES = ("north", "south", "east", "west", "midlands", "wales", "scotland", "ni")
CLASSES = ("residential", "business", "industrial")
CONFIG = (
    b'paths:\n  "tariffs/**.csv": {kind: pricing, key: tariff_code, price_fields: [net_price]}\n'
)


def tariff_book(min_bytes: int = 720_000) -> bytes:
    """A CSV of at least `min_bytes` bytes."""
    lines = [
        "tariff_code,zone,customer_class,net_price,gross_price,standing_fee,currency,valid_from"
    ]
    size = len(lines[0]) + 1
    row = 0
    while size < min_bytes:
        zone = ZONES[row % len(ZONES)]
        klass = CLASSES[(row // len(ZONES)) % len(CLASSES)]
        net = 0.18 + (row * 7919 % 1500) / 10_000
        line = (
            f"T{row:06d}-{zone[:2].upper()},{zone},{klass},{net:.4f},{net * 1.05:.4f},"
            f"{0.45 + (row % 40) / 100:.2f},GBP,2025-04-01"
        )
        lines.append(line)
        size += len(line) + 1
        row += 1
    return ("\n".join(lines) + "\n").encode()


def cut_last_price(book: bytes, factor: float = 0.01) -> tuple[bytes, str]:
    """The book with the last row's net price multiplied by `factor`; and that row's code."""
    rows = book.decode().splitlines()
    cells = rows[-1].split(",")
    cells[3] = f"{float(cells[3]) * factor:.4f}"
    rows[-1] = ",".join(cells)
    return ("\n".join(rows) + "\n").encode(), cells[0]
