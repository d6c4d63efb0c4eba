"""One evaluation's read of an agent's record: its recent PR openings (for the rate limits) and
its scorecards over the trust ramp's windows, bounded so the cost does not grow with history."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from app.agentops.history import AgentHistory
from app.agentops.scorecard import Scorecard, Window, scorecards
from app.core.moments import aware_utc
from app.store.audit.agent_events import AGENT_PR, LIFECYCLE, read_facts
from app.store.audit.chain import MERGE_KINDS
from app.store.tables import EVENTS


def _openings(
    engine: Engine, agent_id: str, before_seq: int, repo: str, pr: int, since: datetime
) -> tuple[list[datetime], int]:
    """Opening times since `since` of the agent's other PRs opened before `before_seq`, and how
    many of those PRs are open now (their latest lifecycle event, at any seq, is an opening).

    Both in SQL (an evaluation's hot path): the times of the last day only, and the open count
    from each PR's latest lifecycle event, so the cost does not grow with the agent's history.
    """
    others = [
        EVENTS.c.agent_id == agent_id,
        EVENTS.c.kind.in_(LIFECYCLE),
        sa.not_(sa.and_(EVENTS.c.repo == repo, EVENTS.c.pr_number == pr)),
    ]
    # Per PR: its latest lifecycle event and its latest opening; open when they are the same.
    # One grouped pass over ix_audit_event_lifecycle (no join back to the table).
    opened_seq = sa.case((EVENTS.c.kind == AGENT_PR, EVENTS.c.seq))
    latest = (
        sa.select(sa.func.max(EVENTS.c.seq).label("seq"), sa.func.max(opened_seq).label("opened"))
        .where(*others)
        .group_by(EVENTS.c.repo, EVENTS.c.pr_number)
        .subquery()
    )
    open_now = sa.select(sa.func.count()).where(
        latest.c.opened == latest.c.seq, latest.c.seq < before_seq
    )
    recent = (
        sa.select(EVENTS.c.occurred_at)
        .where(*others, EVENTS.c.kind == AGENT_PR, EVENTS.c.seq < before_seq)
        .where(EVENTS.c.occurred_at > since)
        .order_by(EVENTS.c.seq)
    )
    with engine.connect() as conn:
        still_open = int(conn.execute(open_now).scalar_one())
        opened = [aware_utc(at) for at in conn.execute(recent).scalars()]
    return opened, still_open


def agent_history(
    engine: Engine,
    *,
    agent_id: str,
    repo: str,
    pr: int,
    opening_seq: int,
    windows: Iterable[int],
    now: datetime | None = None,
) -> AgentHistory:
    """What one evaluation of an agent's PR needs from the store (see AgentHistory)."""
    moment = aware_utc(now or datetime.now(UTC))
    hour, day = moment - timedelta(hours=1), moment - timedelta(days=1)
    opened, still_open = _openings(engine, agent_id, opening_seq, repo, pr, day)
    records: dict[int, Scorecard] = {}
    days = sorted(set(windows))
    if days:
        widest = Window(moment - timedelta(days=days[-1]), moment + timedelta(microseconds=1))
        facts = read_facts(engine, widest, agent_id=agent_id, kinds=MERGE_KINDS, gates_only=True)
        for n in days:
            window = Window(moment - timedelta(days=n), widest.until)
            cards = scorecards(facts, window, by_class=False)
            records[n] = next(
                (c for c in cards if c.agent_id == agent_id),
                Scorecard(agent_id=agent_id, since=window.since, until=window.until),
            )
    return AgentHistory(
        agent_id=agent_id,
        now=moment,
        records=records,
        opened_last_hour=tuple(t for t in opened if t > hour),
        opened_last_day=tuple(t for t in opened if t > day),
        open_prs=still_open,
    )


def opening_counts(history: AgentHistory) -> dict[str, int]:
    """The rate-limit figures recorded with an evaluation."""
    return {
        "opened_last_hour": len(history.opened_last_hour),
        "opened_last_day": len(history.opened_last_day),
        "open_prs": history.open_prs,
    }
