"""Which lines of a template render only when a value says so: inside `if`/`with` blocks.

`hostNetwork: true` under `{{ if .Values.hostNetwork }}` is what a chart offers, not what every
release runs; the Kubernetes family reads privileges with and without such lines.
"""

from __future__ import annotations

from app.semdiff.common.templating import find_actions, word_of

__all__ = ["conditional_blocks"]

_CONDITIONS = frozenset({"if", "with"})
_OTHER_BLOCKS = frozenset({"range", "define", "block", "for", "macro", "call", "filter"})


def conditional_blocks(text: str, source: str = "<template>") -> list[tuple[int, int]]:
    """1-based (first, last) lines inside each `if`/`with` block (all its branches)."""
    spans: list[tuple[int, int]] = []
    stack: list[tuple[bool, int]] = []
    for action in find_actions(text, source):
        word = word_of(action.text)
        if word in _CONDITIONS:
            stack.append((True, action.end))
        elif word in _OTHER_BLOCKS:
            stack.append((False, action.end))
        elif word.startswith("end") and stack:
            conditional, began = stack.pop()
            if conditional:
                spans.append((began, action.start))
    return [
        (text.count("\n", 0, lo) + 1, text.count("\n", 0, hi) + 1) for lo, hi in spans if lo < hi
    ]
