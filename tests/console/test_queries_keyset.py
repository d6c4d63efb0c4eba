"""The Merges page's reads at scale answer as before: pages by key equal pages by number, the
unfiltered count read from the chain head equals a count of the table, and the filter choices
read by skip scan equal a DISTINCT."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from app.console.queries import MergeFilter, distinct_values, merges_page
from app.store.audit.chain import MERGE_KINDS
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from app.store.tables import EVENTS

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _merges(engine: sa.Engine, count: int) -> None:
    for n in range(count):
        agent = None if n % 4 == 3 else f"agent-{n % 3}"
        record = MergeRecord(
            repo=f"acme/r{n % 2}", pr=n + 1, title=f"t{n}", url="u", agent_id=agent,
            head_sha=f"{n:040x}", merged_at=NOW, tier=n % 3, risk_level="info", risk_score=0,
            policy_version="v",
        )  # fmt: skip
        append(engine, "bypass_merge" if n % 5 == 0 else "merge", record)
        append(engine, "analyze_call", {"outcome": "ok", "status": 200}, agent_id="agent-0")


def test_pages_by_key_equal_pages_by_number(db_engine: sa.Engine) -> None:
    _merges(db_engine, 23)
    for flt in (MergeFilter(), MergeFilter(agent="agent-1"), MergeFilter(repo="acme/r0")):
        by_number, total = [], 0
        page = 1
        while rows := merges_page(db_engine, flt, page, per_page=4)[0]:
            by_number.append(rows)
            page += 1
        total = merges_page(db_engine, flt)[1]
        assert sum(len(p) for p in by_number) == total > 4
        older, before = [], None
        for _ in by_number:
            rows, count = merges_page(db_engine, flt, per_page=4, before=before)
            older.append(rows)
            before = rows[-1].seq
            assert count == total
        assert older == by_number
        newer, after = [by_number[-1]], by_number[-1][0].seq
        for _ in by_number[:-1]:
            rows, _count = merges_page(db_engine, flt, per_page=4, after=after)
            newer.insert(0, rows)
            after = rows[0].seq
        assert newer == by_number


def test_the_unfiltered_count_is_the_chain_heads_and_equals_the_table(db_engine: sa.Engine) -> None:
    _merges(db_engine, 7)
    with db_engine.connect() as conn:
        counted = conn.execute(
            sa.select(sa.func.count()).where(EVENTS.c.kind.in_(MERGE_KINDS))
        ).scalar_one()
    assert merges_page(db_engine, MergeFilter())[1] == counted == 7
    assert merges_page(db_engine, MergeFilter(bypass=True))[1] == 2


def test_filter_choices_by_skip_scan_equal_a_distinct(db_engine: sa.Engine) -> None:
    assert distinct_values(db_engine, "agent_id") == []
    _merges(db_engine, 9)
    append(db_engine, "analyze_call", {"outcome": "ok", "status": 200}, agent_id="zeta-only-calls")
    for column in ("agent_id", "repo"):
        col = EVENTS.c[column]
        with db_engine.connect() as conn:
            expected = [
                str(v)
                for (v,) in conn.execute(
                    sa.select(col).where(EVENTS.c.kind.in_(MERGE_KINDS), col.is_not(None))
                    .distinct().order_by(col)
                )
            ]  # fmt: skip
        assert distinct_values(db_engine, column) == expected
    assert distinct_values(db_engine, "agent_id") == ["agent-0", "agent-1", "agent-2"]
