"""The scorecards read from the daily aggregates: a few grouped sums over the window's days,
bounded by agents × rule classes × days whatever the number of events."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from app.agentops.aggregate_cards import Pair, Summed, cards, days_of
from app.agentops.aggregates import ALL, COUNTERS, MAXED, Counts
from app.agentops.scorecard import Scorecard, Window
from app.store.aggregate_tables import (
    AGENT_DAY,
    AGENT_DAY_LATENCY,
    AGENT_DAY_WAIVER,
    AGENT_PR_STATE,
)
from app.store.audit.aggregates import classes_of


def _where(table: sa.Table, window: Window, agent_id: str | None) -> list[Any]:
    first, last = days_of(window)
    out = [table.c.day >= first, table.c.day < last]
    if agent_id is not None:
        out.append(table.c.agent_id == agent_id)
    return out


def _counts(conn: Connection, window: Window, agent_id: str | None) -> dict[Pair, Counts]:
    t = AGENT_DAY.c
    sums = [
        (sa.func.max if name in MAXED else sa.func.sum)(t[name]).label(name) for name in COUNTERS
    ]
    rows = conn.execute(
        sa.select(t.agent_id, t.rule_class, *sums)
        .where(*_where(AGENT_DAY, window, agent_id))
        .group_by(t.agent_id, t.rule_class)
    ).all()
    return {(r.agent_id, r.rule_class): Counts(*(int(v or 0) for v in r[2:])) for r in rows}


def _latency(conn: Connection, window: Window, agent_id: str | None) -> dict[Pair, dict[int, int]]:
    t = AGENT_DAY_LATENCY.c
    out: dict[Pair, dict[int, int]] = defaultdict(dict)
    rows = conn.execute(
        sa.select(t.agent_id, t.rule_class, t.bucket, sa.func.sum(t.n))
        .where(*_where(AGENT_DAY_LATENCY, window, agent_id))
        .group_by(t.agent_id, t.rule_class, t.bucket)
    ).all()
    for agent, cls, bucket, n in rows:
        out[(agent, cls)][int(bucket)] = int(n)
    return out


def _waivers(conn: Connection, window: Window, agent_id: str | None) -> dict[tuple[str, str], int]:
    t = AGENT_DAY_WAIVER.c
    rows = conn.execute(
        sa.select(t.agent_id, t.rule, sa.func.sum(t.n))
        .where(*_where(AGENT_DAY_WAIVER, window, agent_id))
        .group_by(t.agent_id, t.rule)
    ).all()
    return {(agent, rule): int(n) for agent, rule, n in rows}


def _reverted(
    conn: Connection, window: Window, agent_id: str | None
) -> dict[Pair, tuple[str, ...]]:
    """`owner/repo#N` of the window's reverted merges (few: each is a critical error)."""
    t = AGENT_PR_STATE.c
    first, last = days_of(window)
    query = sa.select(t.repo, t.pr_number, t.merge_agent, t.merge_classes).where(
        t.reverted == sa.true(),
        t.merge_day >= first,
        t.merge_day < last,
        t.merge_agent.is_not(None),
    )
    if agent_id is not None:
        query = query.where(t.merge_agent == agent_id)
    found: dict[Pair, list[str]] = defaultdict(list)
    for repo, pr, agent, classes in conn.execute(query):
        for cls in (ALL, *classes_of(classes)):
            found[(agent, cls)].append(f"{repo}#{pr}")
    return {pair: tuple(sorted(prs)) for pair, prs in found.items()}


def aggregate_scorecards(
    engine: Engine, window: Window, *, agent_id: str | None = None, by_class: bool = True
) -> list[Scorecard]:
    """Scorecards over the UTC days covering the window, from the aggregates."""
    with engine.connect() as conn:
        summed = Summed(
            counts=_counts(conn, window, agent_id),
            latency=_latency(conn, window, agent_id),
            waivers=_waivers(conn, window, agent_id),
            reverted_prs=_reverted(conn, window, agent_id),
        )
    return cards(summed, window, by_class=by_class)
