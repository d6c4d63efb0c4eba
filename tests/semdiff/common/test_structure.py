"""Shared structural helpers of the analyzer families."""

from __future__ import annotations

from app.semdiff.common.structure import unmatched_by_key


def test_unmatched_by_key_counts_repeats_and_removes_the_last_copy() -> None:
    """One matcher for SQL statements and Python migration operations."""
    base = [("a", 1), ("b", 2), ("a", 3)]
    head = [("a", 9), ("c", 8)]
    added, removed = unmatched_by_key(base, head, lambda item: item[0])
    assert added == [("c", 8)]
    assert removed == [("b", 2), ("a", 3)], "base order; the later `a` is the removed copy"
