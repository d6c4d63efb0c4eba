"""Retention: finished deliveries lose their raw body after the retention period, nothing else does,
and the audit chain still verifies (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from typer.testing import CliRunner

from app.cli.main import app as cli_app
from app.store import inbox
from app.store.audit import store
from app.store.audit.verify import verify_chain
from app.store.retention import EVENT_KIND, purge_all, purge_batch
from app.store.tables import EVENTS

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
BODY = json.dumps(
    {
        "action": "opened",
        "number": 7,
        "pull_request": {"title": "Rotate the orders DB password", "body": "Agent-Run-Id: r7"},
        "repository": {"full_name": "acme/infra"},
        "sender": {"login": "infra-bot[bot]", "email": "infra-bot@acme.example"},
    }
).encode()
FINISHED_OLD = {"done-old", "ignored-old", "failed-old"}


def deliver(engine: sa.Engine, delivery_id: str, when: datetime, **kwargs: object) -> None:
    assert inbox.store_delivery(
        engine,
        delivery_id=delivery_id,
        event="pull_request",
        action="opened",
        repo="acme/infra",
        pr_number=7,
        payload=BODY,
        now=when,
        **kwargs,  # type: ignore[arg-type]
    )


def seed(engine: sa.Engine, now: datetime = NOW) -> None:
    """One delivery per state; each claim takes the only due pending delivery at that moment."""
    old, recent = now - timedelta(days=20), now - timedelta(days=2)
    store.append(engine, "evaluation", {"tier": 2, "db_password": "hunter2"}, repo="acme/infra")
    deliver(engine, "done-old", old)
    assert [d.id for d in inbox.claim(engine, "w1", 60, now=old)] == ["done-old"]
    assert inbox.complete(engine, "done-old", "w1", now=old)
    deliver(engine, "failed-old", old)
    assert [d.id for d in inbox.claim(engine, "w1", 60, now=old)] == ["failed-old"]
    last_try = inbox.RetryPolicy(max_attempts=1)
    assert inbox.fail(engine, "failed-old", "w1", "boom", policy=last_try, now=old) == "failed"
    deliver(engine, "processing-old", old)
    assert [d.id for d in inbox.claim(engine, "w1", 60, now=old)] == ["processing-old"]
    deliver(engine, "done-recent", recent)
    assert [d.id for d in inbox.claim(engine, "w1", 60, now=recent)] == ["done-recent"]
    assert inbox.complete(engine, "done-recent", "w1", now=recent)
    deliver(engine, "pending-old", old)  # workers were down: still waiting, never purged
    deliver(engine, "ignored-old", old, status="ignored")
    store.append(engine, "merge_group", {"head_sha": "a" * 40}, repo="acme/infra")


def events(engine: sa.Engine) -> list[tuple[int, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.payload))
        return [(seq, kind, payload) for seq, kind, payload in rows]


def test_purge_clears_only_finished_old_bodies_and_the_chain_verifies(db_engine: sa.Engine) -> None:
    seed(db_engine)
    before = events(db_engine)
    batch = purge_batch(db_engine, retention_days=14, batch_size=100, now=NOW)
    assert {d.id for d in batch.deliveries} == FINISHED_OLD
    assert batch.bytes == 3 * len(BODY)
    for delivery_id in ("done-old", "ignored-old", "failed-old"):
        row = inbox.get_delivery(db_engine, delivery_id)
        assert row is not None and row.payload == b""
        assert row.status in ("done", "ignored", "failed") and row.repo == "acme/infra"
    for delivery_id in ("pending-old", "processing-old", "done-recent"):
        row = inbox.get_delivery(db_engine, delivery_id)
        assert row is not None and row.payload == BODY
    # The audit chain kept every event and gained one saying what was removed.
    after = events(db_engine)
    assert after[: len(before)] == before
    seq, kind, payload = after[-1]
    assert (kind, seq) == (EVENT_KIND, batch.audit_seq)
    record = json.loads(payload)
    assert record["deliveries"] == 3 and record["bytes"] == 3 * len(BODY)
    assert record["cutoff"].startswith("2026-11-18T12:00:00")
    assert "hunter2" not in "".join(p for _, _, p in after)
    result = verify_chain(db_engine)
    assert result.ok and result.count == len(before) + 1, result.reason
    # Idempotent, and a redelivery of a purged id is still a duplicate.
    again = purge_batch(db_engine, retention_days=14, batch_size=100, now=NOW)
    assert again.deliveries == () and again.audit_seq is None
    assert len(events(db_engine)) == len(after)
    assert not inbox.store_delivery(
        db_engine, delivery_id="done-old", event="pull_request", payload=BODY, now=NOW
    )


def test_batches_are_bounded_and_a_dry_run_changes_nothing(db_engine: sa.Engine) -> None:
    seed(db_engine)
    before = events(db_engine)
    listed = list(purge_all(db_engine, retention_days=14, batch_size=2, dry_run=True, now=NOW))
    assert [len(b.deliveries) for b in listed] == [2, 1]
    assert {d.id for b in listed for d in b.deliveries} == FINISHED_OLD
    assert events(db_engine) == before
    assert all(inbox.get_delivery(db_engine, i).payload == BODY for i in FINISHED_OLD)  # type: ignore[union-attr]
    first = purge_batch(db_engine, retention_days=14, batch_size=2, now=NOW)
    assert len(first.deliveries) == 2
    rest = list(purge_all(db_engine, retention_days=14, batch_size=2, now=NOW))
    assert [len(b.deliveries) for b in rest] == [1]
    assert verify_chain(db_engine).ok


def test_zero_days_purges_every_finished_body_but_never_waiting_ones(db_engine: sa.Engine) -> None:
    seed(db_engine)
    batch = purge_batch(db_engine, retention_days=0, batch_size=100, now=NOW)
    assert {d.id for d in batch.deliveries} == FINISHED_OLD | {"done-recent"}
    assert inbox.get_delivery(db_engine, "pending-old").payload == BODY  # type: ignore[union-attr]
    assert inbox.get_delivery(db_engine, "processing-old").payload == BODY  # type: ignore[union-attr]
    assert verify_chain(db_engine).ok


def test_retention_run_command(sqlite_url: str) -> None:
    from app.store.db import make_engine, upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        seed(engine, datetime.now(UTC))
    finally:
        engine.dispose()
    # In-process (tests/cli/test_main.py runs the command as a process): what a process reads
    # from its environment comes in through `env`.
    runner, env = CliRunner(), {"COUNTERSIGN_DATABASE_URL": sqlite_url}
    dry = runner.invoke(cli_app, ["retention", "run", "--dry-run"], env=env)
    assert dry.exit_code == 0, (dry.stderr, dry.exception)
    listed = [
        line.split()[2] for line in dry.stdout.splitlines() if line.startswith("would purge ")
    ]
    assert set(listed[:3]) == FINISHED_OLD
    assert "would purge 3 delivery bodies" in dry.stdout
    assert "audit event" not in dry.stdout
    run = runner.invoke(cli_app, ["retention", "run"], env=env)
    assert run.exit_code == 0, (run.stderr, run.exception)
    assert "purged 3 delivery bodies" in run.stdout
    assert "recorded retention_purge as audit event seq 3" in run.stdout
    verify = runner.invoke(cli_app, ["audit", "verify"], env=env)
    assert verify.exit_code == 0, (verify.output, verify.exception)
