"""CSV cells that a spreadsheet shows as text, never runs as a formula.

Exported titles, branch names, logins and run IDs are written by agents. A cell starting with
`=`, `+`, `-`, `@`, a tab or a carriage return is read as a formula by Excel, LibreOffice and
Google Sheets (CSV injection), so every CSV Countersign writes prefixes such a cell with `'`, as
OWASP recommends. JSON and JSONL exports stay exact; the hashed `event` keeps the original text.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(text: str) -> str:
    """`text` as a spreadsheet-safe CSV cell: a leading formula character gets a `'` before it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
