"""The durable webhook inbox: dedupe, exclusive claims, backoff, lease expiry."""

from __future__ import annotations

import json
import random
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import DatabaseNotReady
from app.store.inbox import (
    DEFAULT_RETRY,
    RetryPolicy,
    claim,
    complete,
    fail,
    get_delivery,
    queue_depth,
    reclaim_expired,
    status_counts,
    store_delivery,
)
from tests.processes import child_processes

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
PAYLOAD = json.dumps(
    {
        "action": "opened",
        "number": 412,
        "pull_request": {
            "head": {"sha": "9a8b7c6d5e4f30211f0e0d0c0b0a090807060504"},
            "user": {"login": "pricing-bot[bot]"},
        },
        "repository": {"full_name": "acme/catalog"},
        "installation": {"id": 51234567},
    }
).encode()


def store(engine: sa.Engine, delivery_id: str | None = None, now: datetime = T0) -> str:
    delivery_id = delivery_id or str(uuid.uuid4())
    stored = store_delivery(
        engine,
        delivery_id=delivery_id,
        event="pull_request",
        action="opened",
        installation_id=51234567,
        repo="acme/catalog",
        pr_number=412,
        head_sha="9a8b7c6d5e4f30211f0e0d0c0b0a090807060504",
        payload=PAYLOAD,
        now=now,
    )
    assert stored
    return delivery_id


def test_duplicate_deliveries_are_stored_once(db_engine: sa.Engine) -> None:
    delivery_id = store(db_engine)
    again = store_delivery(
        db_engine, delivery_id=delivery_id, event="pull_request", payload=b"{}", now=T0
    )
    assert again is False
    delivery = get_delivery(db_engine, delivery_id)
    assert delivery is not None
    assert delivery.payload == PAYLOAD  # the first copy wins
    assert queue_depth(db_engine) == 1


def test_ignored_deliveries_are_recorded_but_not_queued(db_engine: sa.Engine) -> None:
    store_delivery(
        db_engine, delivery_id="d-ignored", event="star", payload=b"{}", status="ignored", now=T0
    )
    assert claim(db_engine, "w1", 60, now=T0) == []
    assert status_counts(db_engine)["ignored"] == 1
    assert queue_depth(db_engine) == 0


def test_claim_leases_oldest_first_and_complete_needs_the_lease(db_engine: sa.Engine) -> None:
    first = store(db_engine, "d-1", now=T0)
    store(db_engine, "d-2", now=T0 + timedelta(seconds=1))
    claimed = claim(db_engine, "w1", lease_seconds=60, now=T0 + timedelta(seconds=5))
    assert [d.id for d in claimed] == [first]
    assert claimed[0].status == "processing"
    assert claimed[0].attempts == 1
    assert claimed[0].lease_until == T0 + timedelta(seconds=65)
    assert claimed[0].installation_id == 51234567
    assert complete(db_engine, first, "w2") is False
    assert complete(db_engine, first, "w1") is True
    assert complete(db_engine, first, "w1") is False
    assert status_counts(db_engine)["done"] == 1
    assert queue_depth(db_engine) == 1


def test_failure_backs_off_then_retries_then_gives_up(db_engine: sa.Engine) -> None:
    policy = RetryPolicy(base_seconds=10, cap_seconds=60, jitter=0.0, max_attempts=3)
    delivery_id = store(db_engine)
    now = T0
    for attempt, wait in ((1, 10), (2, 20)):
        [delivery] = claim(db_engine, "w1", 60, now=now)
        assert delivery.attempts == attempt
        assert fail(db_engine, delivery_id, "w1", "GitHub 502", policy=policy, now=now) == "pending"
        assert claim(db_engine, "w1", 60, now=now + timedelta(seconds=wait - 1)) == []
        now += timedelta(seconds=wait)
    [delivery] = claim(db_engine, "w1", 60, now=now)
    assert (
        fail(db_engine, delivery_id, "w1", "GitHub 502 again", policy=policy, now=now) == "failed"
    )
    stored = get_delivery(db_engine, delivery_id)
    assert stored is not None
    assert (stored.status, stored.attempts, stored.last_error) == ("failed", 3, "GitHub 502 again")
    assert claim(db_engine, "w1", 60, now=now + timedelta(days=1)) == []


def test_failure_honours_retry_after(db_engine: sa.Engine) -> None:
    delivery_id = store(db_engine)
    claim(db_engine, "w1", 60, now=T0)
    assert fail(db_engine, delivery_id, "w1", "rate limited", retry_after=900, now=T0) == "pending"
    stored = get_delivery(db_engine, delivery_id)
    assert stored is not None
    assert stored.next_attempt_at == T0 + timedelta(seconds=900)
    assert fail(db_engine, delivery_id, "w1", "not mine any more", now=T0) is None


def test_expired_leases_are_reclaimed(db_engine: sa.Engine) -> None:
    delivery_id = store(db_engine)
    claim(db_engine, "crashed-worker", lease_seconds=30, now=T0)
    assert reclaim_expired(db_engine, now=T0 + timedelta(seconds=29)) == 0
    assert reclaim_expired(db_engine, now=T0 + timedelta(seconds=31)) == 1
    [again] = claim(db_engine, "w2", 30, now=T0 + timedelta(seconds=31))
    assert (again.id, again.attempts, again.lease_owner) == (delivery_id, 2, "w2")
    assert complete(db_engine, delivery_id, "crashed-worker") is False


def test_a_delivery_that_keeps_killing_workers_fails(db_engine: sa.Engine) -> None:
    policy = RetryPolicy(max_attempts=2)
    delivery_id = store(db_engine)
    now = T0
    for _ in range(2):
        claim(db_engine, "w", 10, now=now)
        now += timedelta(seconds=11)
        reclaim_expired(db_engine, policy=policy, now=now)
    stored = get_delivery(db_engine, delivery_id)
    assert stored is not None
    assert stored.status == "failed"
    assert "lease expired" in (stored.last_error or "")


@given(attempts=st.integers(min_value=1, max_value=200), rand=st.floats(min_value=0, max_value=1))
def test_backoff_is_exponential_jittered_and_capped(attempts: int, rand: float) -> None:
    policy = DEFAULT_RETRY
    delay = policy.delay(attempts, rand=lambda: rand)
    ceiling = min(policy.cap_seconds, policy.base_seconds * 2 ** (attempts - 1))
    assert ceiling * (1 - policy.jitter) <= delay <= ceiling
    assert delay <= policy.cap_seconds


@given(
    retry_after=st.floats(min_value=0.001, max_value=1e9),
    attempts=st.integers(min_value=1, max_value=10),
)
def test_backoff_never_undercuts_retry_after(retry_after: float, attempts: int) -> None:
    delay = DEFAULT_RETRY.delay(attempts, retry_after, rand=random.random)
    assert delay >= min(retry_after, DEFAULT_RETRY.max_retry_after)
    assert delay <= max(DEFAULT_RETRY.cap_seconds, DEFAULT_RETRY.max_retry_after)


def test_backoff_schedule_without_jitter() -> None:
    policy = RetryPolicy(base_seconds=2, cap_seconds=300, jitter=0.0)
    assert [policy.delay(n) for n in range(1, 10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300]


def test_threads_never_share_a_delivery(db_engine: sa.Engine) -> None:
    ids = {store(db_engine) for _ in range(120)}
    claimed: dict[str, list[str]] = {}
    start = threading.Barrier(6)

    def work(worker_id: str) -> None:
        start.wait(timeout=30)
        got = claimed.setdefault(worker_id, [])
        while batch := claim(db_engine, worker_id, 300, limit=2):
            got.extend(d.id for d in batch)

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    every = [i for got in claimed.values() for i in got]
    assert len(every) == len(set(every)) == len(ids)
    assert set(every) == ids


@pytest.mark.slow  # four processes (tests/processes.py)
def test_processes_never_share_a_delivery(
    db_engine: sa.Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(ROOT))  # children import tests.store._inbox_workers
    from tests.store._inbox_workers import claim_until_empty

    ids = {store(db_engine) for _ in range(150)}
    context = child_processes()
    barrier, results = context.Barrier(4), context.Queue()
    processes = [
        context.Process(target=claim_until_empty, args=(db_url, f"p{i}", barrier, results))
        for i in range(4)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert [p.exitcode for p in processes] == [0, 0, 0, 0]
    every = [i for _, got in reports for i in got]
    assert len(every) == len(set(every)) == len(ids)
    assert status_counts(db_engine)["done"] == len(ids)


def test_unmigrated_or_unreachable_database_is_not_ready(sqlite_url: str) -> None:
    engine = sa.create_engine(sqlite_url)
    with pytest.raises(DatabaseNotReady, match="countersign db upgrade"):
        store_delivery(engine, delivery_id="d", event="ping", payload=b"{}")
    engine.dispose()
