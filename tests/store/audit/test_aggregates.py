"""The scorecard aggregates: kept with each append, equal to a rebuild from the chain after any
history (hypothesis, on SQLite and PostgreSQL), unchanged by a failed append, backfilled by the
migration, and giving the full scan's scorecards."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings

from app.agentops.scorecard import Window
from app.store.aggregate_tables import AGGREGATE_TABLES
from app.store.audit import store
from app.store.audit.agent_events import agent_scorecards, scan_scorecards
from app.store.audit.aggregates import rebuild, rebuild_aggregates
from app.store.db import make_engine, upgrade
from tests.store.audit.aggregate_history import START, Op, histories, write

ROOT = Path(__file__).resolve().parents[3]
Tables = dict[str, set[tuple[Any, ...]]]
COUNTERS_START = 3  # agent_day: agent_id, rule_class, day, then the counters


def _meaningful(table: str, row: tuple[Any, ...]) -> bool:
    """Counter rows whose counters are all zero say nothing (a PR that moved leaves one)."""
    if table == "agent_day":
        return any(row[COUNTERS_START:])
    if table in ("agent_day_latency", "agent_day_waiver"):
        return bool(row[-1])
    return True


def snapshot(conn: sa.Connection) -> Tables:
    return {
        t.name: {tuple(r) for r in conn.execute(sa.select(t)) if _meaningful(t.name, tuple(r))}
        for t in AGGREGATE_TABLES
    }


def kept_and_rebuilt(engine: sa.Engine) -> tuple[Tables, Tables]:
    """The incrementally kept tables, and what a rebuild writes (rolled back afterwards)."""
    with engine.connect() as conn:
        kept = snapshot(conn)
    with engine.connect() as conn:
        with conn.begin() as tx:
            rebuild(conn)
            rebuilt = snapshot(conn)
            tx.rollback()
    return kept, rebuilt


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(history=histories)
def test_kept_aggregates_equal_a_rebuild_after_any_history(
    db_engine: sa.Engine, history: list[Op]
) -> None:
    # Histories accumulate in one store across examples: each check covers all of them so far.
    for op in history:
        write(db_engine, op)
    kept, rebuilt = kept_and_rebuilt(db_engine)
    assert kept == rebuilt
    assert kept["agent_day"]


def _append_then_fail(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        payload = {"conclusion": "success", "report": {"tier": 0}}
        store.append(conn, "evaluation", payload, repo="acme/web", pr_number=1, agent_id="docs-bot")
        raise RuntimeError("the caller's transaction fails after the append")


def test_a_failed_append_leaves_the_aggregates_unchanged(db_engine: sa.Engine) -> None:
    write(db_engine, Op("evaluation", "docs-bot", "acme/web", 1, 60, "failure", ("pricing.x",)))
    with db_engine.connect() as conn:
        before = snapshot(conn)
    with pytest.raises(RuntimeError, match="after the append"):
        _append_then_fail(db_engine)
    with db_engine.connect() as conn:
        assert snapshot(conn) == before
    kept, rebuilt = kept_and_rebuilt(db_engine)
    assert kept == rebuilt


def test_rebuild_is_idempotent_and_reports_rows(db_engine: sa.Engine) -> None:
    for n, op in enumerate(("evaluation", "merge", "waiver", "analyze_call")):
        write(db_engine, Op(op, "docs-bot", "acme/web", n, 3600 * n, rules=("pricing.x",)))
    first = rebuild_aggregates(db_engine)
    with db_engine.connect() as conn:
        tables = snapshot(conn)
    second = rebuild_aggregates(db_engine)
    with db_engine.connect() as conn:
        assert snapshot(conn) == tables
    assert first == second
    assert first.events == 4
    assert first.rows == {
        "agent_day": 2,  # one day: the agent's row and its pricing class's
        "agent_day_latency": 0,
        "agent_day_waiver": 1,
        "agent_pr_state": 2,
    }


def test_the_migration_backfills_an_existing_store(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        for op in (
            Op("evaluation", "docs-bot", "acme/web", 1, 10, "failure", ("terraform.x",)),
            Op("merge", "docs-bot", "acme/web", 1, 90_000, run_id="r", cost="0.25", latency=60),
            Op("merge", None, "acme/web", 2, 99_000, reverts=(1,)),
        ):
            write(engine, op)
        with engine.connect() as conn:
            kept = snapshot(conn)
        upgrade(db_url, "0003")  # the tables go; the events stay
        upgrade(db_url)
        with engine.connect() as conn:
            assert snapshot(conn) == kept
        assert kept["agent_day"]
    finally:
        engine.dispose()


HISTORY = [
    # Two agents' PRs, each evaluated and merged within the days below (whole lifetimes).
    Op("evaluation", "docs-bot", "acme/web", 1, 100, "failure", ("terraform.delete-stateful",)),
    Op("evaluation", "docs-bot", "acme/web", 1, 4000, "success", ("pricing.price-increase",), "r1"),
    Op(
        "merge",
        "docs-bot",
        "acme/web",
        1,
        9000,
        rules=("pricing.price-increase",),
        run_id="r1",
        cost="0.40",
        latency=4900,
    ),
    Op("evaluation", "docs-bot", "acme/web", 2, 86_400 + 50, "failure", ("kubernetes.privileged",)),
    Op("evaluation", "infra-bot", "Acme/Infra", 3, 2 * 86_400, "success"),
    Op("bypass_merge", "infra-bot", "Acme/Infra", 3, 2 * 86_400 + 600, cost="1.10", latency=30),
    Op("merge", "infra-bot", "Acme/Infra", 4, 2 * 86_400 + 900, latency=2747),
    Op("merge", None, "acme/web", 5, 3 * 86_400, reverts=(1,)),
    Op("merge", None, "Acme/Infra", 6, 3 * 86_400 + 10, reverts=(-3,)),
    Op("waiver", "docs-bot", "acme/web", 2, 86_400 + 70, rules=("kubernetes.privileged",)),
    Op("analyze_call", "infra-bot", "acme/web", 0, 5),
]
LATENCY = ("approval_latency_p50_seconds", "approval_latency_p90_seconds")


def test_aggregate_scorecards_equal_the_full_scan_over_whole_lifetimes(
    db_engine: sa.Engine,
) -> None:
    for op in HISTORY:
        write(db_engine, op)
    for window in (
        Window(START, START + timedelta(days=5)),
        Window(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC)),
    ):
        for by_class in (True, False):
            for agent in (None, "infra-bot"):
                scanned = scan_scorecards(db_engine, window, agent_id=agent, by_class=by_class)
                aggregated = agent_scorecards(db_engine, window, agent_id=agent, by_class=by_class)
                assert [c.model_dump(exclude=set(LATENCY)) for c in aggregated] == [
                    c.model_dump(exclude=set(LATENCY)) for c in scanned
                ]
                for old, new in zip(scanned, aggregated, strict=True):
                    for name in LATENCY:
                        expected, got = getattr(old, name), getattr(new, name)
                        assert (expected is None) == (got is None)
                        if expected is not None:
                            assert got == pytest.approx(expected, rel=0.022, abs=1)
    cards = agent_scorecards(db_engine, Window(START, START + timedelta(days=5)))
    docs = cards[0]
    assert (docs.agent_id, docs.evaluated, docs.failed, docs.blocked, docs.reverted) == (
        "docs-bot", 2, 1, 1, 1,
    )  # fmt: skip
    assert docs.cost_usd == "0.40" and docs.reverted_prs == ("acme/web#1",)
    infra = next(c for c in cards if c.agent_id == "infra-bot" and c.rule_class is None)
    assert (infra.merged, infra.bypassed, infra.reverted, infra.analyze_calls) == (2, 1, 1, 1)


def test_concurrent_writers_lose_no_increment(
    db_engine: sa.Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # spawned children import tests.store.audit.*
    from tests.store.audit._aggregate_workers import append_ops

    writers, per_writer = 4, 45
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    processes = [
        context.Process(target=append_ops, args=(db_url, w, per_writer, barrier))
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * writers
    kept, rebuilt = kept_and_rebuilt(db_engine)
    assert kept == rebuilt
    prs = writers * per_writer // 3
    (card, _pricing) = agent_scorecards(db_engine, Window(START, START + timedelta(days=1)))
    assert (card.evaluated, card.failed, card.merged, card.cost_usd) == (prs, 0, prs, "6.00")
