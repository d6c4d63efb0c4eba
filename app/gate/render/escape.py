"""Escaping for check-run Markdown: every PR-controlled string passes through `esc` before it
reaches a table cell or list item (markup, mentions and pipes in file names, titles, reasons)."""

from __future__ import annotations


def esc(value: object, limit: int = 200) -> str:
    """Escape a PR-controlled string for a Markdown table cell or list item."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    for ch, rep in (
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("`", "'"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("*", "\\*"),
        ("_", "\\_"),
        ("[", "\\["),
        ("]", "\\]"),
        ("@", "@\u200b"),
    ):
        text = text.replace(ch, rep)
    return " ".join(text.split())
