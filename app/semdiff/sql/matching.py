"""Which statements of a SQL file were added or removed, with wrapped bodies matched by content.

Statements match by their normalized SQL (`Statement.key`). A `DO $$ … $$` block or a function
whose body was edited is a different statement as a whole, but the statements it runs mostly are
not: adding an exception handler must not report the untouched `ALTER COLUMN` inside it as
created and deleted. An edited wrapper is paired with the removed wrapper of the same kind
(`DO`, `FUNCTION f`) that shares the most inner statements, and only the inner statements that
differ are reported; a body edited without a statement added or removed is one `update` of it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from app.core.models import Change
from app.semdiff.sql.analyzer import Statement, change_for, changes_of, dedupe_addresses

__all__ = ["match_statements"]


def _unmatched(left: Sequence[Statement], right: Sequence[Statement]) -> list[Statement]:
    """Statements of `left` without a same-key statement in `right` (copies counted)."""
    spare = Counter(s.key for s in right)
    out: list[Statement] = []
    for statement in left:
        if spare[statement.key] > 0:
            spare[statement.key] -= 1
        else:
            out.append(statement)
    return out


def _overlap(a: Statement, b: Statement) -> int:
    shared = Counter(s.key for s in a.inner) & Counter(s.key for s in b.inner)
    return sum(shared.values())


def _partner(head: Statement, removed: list[Statement]) -> Statement | None:
    """The removed wrapper this edited one replaces: same kind, most inner statements shared."""
    if head.wraps is None:
        return None
    same_kind = [b for b in removed if b.wraps == head.wraps]
    if not same_kind:
        return None
    best = max(same_kind, key=lambda b: _overlap(head, b))
    named = head.wraps != "DO"  # `FUNCTION f` is one object whatever its body
    return best if named or _overlap(head, best) > 0 or not (head.inner or best.inner) else None


def _edited(path: str, before: Statement, after: Statement) -> list[Change]:
    """An edited wrapper: its inner statements added and removed, else the wrapper updated."""
    created = _unmatched(after.inner, before.inner)
    deleted = _unmatched(before.inner, after.inner)
    out = [change_for(path, s, "create") for s in created]
    out += [change_for(path, s, "delete") for s in deleted]
    label = after.wraps.split()[0] if after.wraps else ""
    if not out or label != "DO":
        extra = {"unclassified_statements": after.unclassified} if after.unclassified else {}
        out.insert(0, change_for(path, after, "update", extra))
    return out


def match_statements(path: str, base: list[Statement], head: list[Statement]) -> list[Change]:
    """Statements added (create) and removed (delete); edited DO blocks/functions compared inside."""
    added = _unmatched(head, base)
    # The last copies of a repeated statement are the removed ones.
    removed = list(reversed(_unmatched(list(reversed(base)), head)))
    out: list[Change] = []
    for statement in added:
        partner = _partner(statement, removed)
        if partner is None:
            out += changes_of(path, statement, "create")
        else:
            removed.remove(partner)
            out += _edited(path, partner, statement)
    out += [c for s in removed for c in changes_of(path, s, "delete")]
    return dedupe_addresses(out)
