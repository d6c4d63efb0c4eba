"""The durable webhook inbox (database side): store, claim with a lease, complete or retry.

The web process stores each verified delivery once (deduplicated by X-GitHub-Delivery) and
answers GitHub at once; workers claim deliveries with a lease, so a crashed worker's deliveries
return to the queue when the lease expires (`reclaim_expired`). Delivery is at least once: the
handlers must be idempotent (one check run per head SHA).

Claims never hand one delivery to two workers: PostgreSQL locks the chosen rows with
`FOR UPDATE SKIP LOCKED` before updating them; SQLite claims in a single `UPDATE … RETURNING`
inside `BEGIN IMMEDIATE` (SQLite would silently ignore SKIP LOCKED).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite

from app.core.errors import DatabaseNotReady
from app.store.db import SQLITE_BEGIN, UPGRADE_COMMAND
from app.store.tables import DELIVERIES, Delivery

Status = Literal["pending", "processing", "done", "failed", "ignored"]
STATUSES: tuple[Status, ...] = ("pending", "processing", "done", "failed", "ignored")
_ERROR_LIMIT = 2_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: base·2^(attempt-1), capped, scaled by [1-jitter, 1]."""

    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    jitter: float = 0.5
    max_attempts: int = 8
    max_retry_after: float = 3_600.0

    def delay(
        self,
        attempts: int,
        retry_after: float | None = None,
        rand: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (retry_after wins if longer)."""
        exponent = min(max(attempts, 1) - 1, 60)
        raw = min(self.cap_seconds, self.base_seconds * 2.0**exponent)
        wait = raw * (1.0 - self.jitter * rand())
        if retry_after is not None and retry_after > 0:
            wait = max(wait, min(retry_after, self.max_retry_after))
        return wait


DEFAULT_RETRY = RetryPolicy()


def _now(now: datetime | None) -> datetime:
    moment = now or datetime.now(UTC)
    if moment.utcoffset() is None:
        raise ValueError("inbox timestamps must be timezone-aware (use datetime.now(UTC))")
    return moment.astimezone(UTC)


@contextmanager
def _tx(engine: Engine, *, write: bool = True) -> Iterator[Connection]:
    """A transaction (IMMEDIATE on SQLite when writing); an unreachable database becomes
    DatabaseNotReady, which the service answers with 503 and the worker with a pause."""
    try:
        with engine.connect() as conn:
            if write and engine.dialect.name == "sqlite":
                conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
            with conn.begin():
                yield conn
    except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.ProgrammingError) as error:
        raise DatabaseNotReady(
            f"webhook inbox unavailable: {str(error.orig or error).strip().splitlines()[0]}",
            hint=f"check COUNTERSIGN_DATABASE_URL; if the schema is missing run `{UPGRADE_COMMAND}`",
        ) from error


def _delivery(row: sa.Row[tuple[object, ...]]) -> Delivery:
    return Delivery.model_validate(dict(row._mapping))


def store_delivery(
    engine: Engine,
    *,
    delivery_id: str,
    event: str,
    payload: bytes,
    action: str | None = None,
    installation_id: int | None = None,
    repo: str | None = None,
    pr_number: int | None = None,
    head_sha: str | None = None,
    status: Literal["pending", "ignored"] = "pending",
    now: datetime | None = None,
) -> bool:
    """Store a delivery once; False (never an error) when this delivery id is already stored."""
    moment = _now(now)
    values = {
        "id": delivery_id,
        "event": event,
        "action": action,
        "installation_id": installation_id,
        "repo": repo,
        "pr_number": pr_number,
        "head_sha": head_sha,
        "payload": payload,
        "received_at": moment,
        "status": status,
        "attempts": 0,
        "next_attempt_at": moment,
        "completed_at": moment if status == "ignored" else None,
    }
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(DELIVERIES)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(DELIVERIES.c.id)
    )
    with _tx(engine) as conn:
        return conn.execute(stmt).first() is not None


def claim(
    engine: Engine,
    worker_id: str,
    lease_seconds: float,
    limit: int = 1,
    *,
    now: datetime | None = None,
) -> list[Delivery]:
    """Lease up to `limit` due pending deliveries to `worker_id`, oldest due first."""
    moment = _now(now)
    due = (
        sa.select(DELIVERIES.c.id)
        .where(DELIVERIES.c.status == "pending", DELIVERIES.c.next_attempt_at <= moment)
        .order_by(DELIVERIES.c.next_attempt_at, DELIVERIES.c.received_at)
        .limit(limit)
    )
    lease = {
        "status": "processing",
        "lease_owner": worker_id,
        "lease_until": moment + timedelta(seconds=lease_seconds),
        "attempts": DELIVERIES.c.attempts + 1,
    }
    with _tx(engine) as conn:
        if engine.dialect.name == "postgresql":
            ids = list(conn.execute(due.with_for_update(skip_locked=True)).scalars())
            if not ids:
                return []
            where = DELIVERIES.c.id.in_(ids)
        else:
            where = DELIVERIES.c.id.in_(due.scalar_subquery())
        stmt = (
            sa.update(DELIVERIES)
            .where(where, DELIVERIES.c.status == "pending")
            .values(**lease)
            .returning(*DELIVERIES.c)
        )
        claimed = [_delivery(row) for row in conn.execute(stmt)]
    claimed.sort(key=lambda d: (d.next_attempt_at, d.received_at))
    return claimed


def _leased(delivery_id: str, worker_id: str) -> tuple[sa.ColumnElement[bool], ...]:
    """The delivery, still processing under this worker's lease (a lost lease matches nothing)."""
    return (
        DELIVERIES.c.id == delivery_id,
        DELIVERIES.c.status == "processing",
        DELIVERIES.c.lease_owner == worker_id,
    )


def complete(
    engine: Engine,
    delivery_id: str,
    worker_id: str,
    *,
    status: Literal["done", "ignored"] = "done",
    now: datetime | None = None,
) -> bool:
    """Mark a leased delivery done; False when the lease was lost (another worker has it)."""
    stmt = (
        sa.update(DELIVERIES)
        .where(*_leased(delivery_id, worker_id))
        .values(status=status, completed_at=_now(now), lease_owner=None, lease_until=None)
    )
    with _tx(engine) as conn:
        return conn.execute(stmt).rowcount == 1


def fail(
    engine: Engine,
    delivery_id: str,
    worker_id: str,
    error: str,
    retry_after: float | None = None,
    *,
    policy: RetryPolicy = DEFAULT_RETRY,
    now: datetime | None = None,
) -> Status | None:
    """Record a failed attempt: back to pending after a backoff, or `failed` after the last try.

    Returns the new status, or None when the lease was lost.
    """
    moment = _now(now)
    owned = _leased(delivery_id, worker_id)
    with _tx(engine) as conn:
        query = sa.select(DELIVERIES.c.attempts).where(*owned).with_for_update()
        attempts = conn.execute(query).scalar()
        if attempts is None:
            return None
        status: Status = "failed" if attempts >= policy.max_attempts else "pending"
        values: dict[str, object] = {
            "status": status,
            "last_error": error[:_ERROR_LIMIT],
            "lease_owner": None,
            "lease_until": None,
        }
        if status == "pending":
            delay = policy.delay(attempts, retry_after)
            values["next_attempt_at"] = moment + timedelta(seconds=delay)
        else:
            values["completed_at"] = moment
        conn.execute(sa.update(DELIVERIES).where(*owned).values(**values))
    return status


def release(
    engine: Engine,
    delivery_id: str,
    worker_id: str,
    delay_seconds: float,
    *,
    now: datetime | None = None,
) -> bool:
    """Give a leased delivery back without spending an attempt (its PR is busy elsewhere)."""
    stmt = (
        sa.update(DELIVERIES)
        .where(*_leased(delivery_id, worker_id))
        .values(
            status="pending",
            attempts=DELIVERIES.c.attempts - 1,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=_now(now) + timedelta(seconds=delay_seconds),
        )
    )
    with _tx(engine) as conn:
        return conn.execute(stmt).rowcount == 1


def release_owned(engine: Engine, worker_id: str, *, now: datetime | None = None) -> int:
    """Give back every delivery `worker_id` still leases (a shutdown that could not finish it).

    The delivery is due at once for another worker. The cut-short attempt still counts, as after
    a crash: an attempt above one tells the next worker to look for a check run the stopped one
    may have created without recording it, so no work is done twice.
    """
    stmt = (
        sa.update(DELIVERIES)
        .where(DELIVERIES.c.status == "processing", DELIVERIES.c.lease_owner == worker_id)
        .values(
            status="pending",
            lease_owner=None,
            lease_until=None,
            next_attempt_at=_now(now),
        )
    )
    with _tx(engine) as conn:
        return int(conn.execute(stmt).rowcount)


def interrupted_for(engine: Engine, repo: str, pr_number: int, exclude_id: str) -> bool:
    """Whether another delivery for this PR is mid-way or was cut short (crash, failed try)."""
    stmt = (
        sa.select(DELIVERIES.c.id)
        .where(
            DELIVERIES.c.repo == repo,
            DELIVERIES.c.pr_number == pr_number,
            DELIVERIES.c.id != exclude_id,
            sa.or_(
                DELIVERIES.c.status == "processing",
                sa.and_(DELIVERIES.c.status == "pending", DELIVERIES.c.attempts > 0),
            ),
        )
        .limit(1)
    )
    with _tx(engine, write=False) as conn:
        return conn.execute(stmt).first() is not None


def reclaim_expired(
    engine: Engine, *, policy: RetryPolicy = DEFAULT_RETRY, now: datetime | None = None
) -> int:
    """Return deliveries whose lease expired (crashed or stuck worker) to the queue.

    A delivery that has used all its attempts this way is marked failed rather than retried,
    so a payload that kills workers cannot loop forever. Returns how many were requeued.
    """
    moment = _now(now)
    expired = (DELIVERIES.c.status == "processing", DELIVERIES.c.lease_until < moment)
    released = {"lease_owner": None, "lease_until": None}
    with _tx(engine) as conn:
        conn.execute(
            sa.update(DELIVERIES)
            .where(*expired, DELIVERIES.c.attempts >= policy.max_attempts)
            .values(
                status="failed",
                completed_at=moment,
                last_error="lease expired on the last attempt (worker crashed or hung)",
                **released,
            )
        )
        result = conn.execute(
            sa.update(DELIVERIES)
            .where(*expired)
            .values(status="pending", next_attempt_at=moment, **released)
        )
        return int(result.rowcount)


def queue_depth(engine: Engine) -> int:
    """Deliveries waiting or in progress (pending + processing)."""
    query = sa.select(sa.func.count()).where(DELIVERIES.c.status.in_(("pending", "processing")))
    with _tx(engine, write=False) as conn:
        return int(conn.execute(query).scalar_one())


def status_counts(engine: Engine) -> dict[Status, int]:
    """How many deliveries are in each status (for /metrics)."""
    query = sa.select(DELIVERIES.c.status, sa.func.count()).group_by(DELIVERIES.c.status)
    counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    with _tx(engine, write=False) as conn:
        for status, n in conn.execute(query):
            if status in counts:
                counts[status] = int(n)
    return counts


def get_delivery(engine: Engine, delivery_id: str) -> Delivery | None:
    """One delivery by id (tests, admin)."""
    with _tx(engine, write=False) as conn:
        row = conn.execute(sa.select(DELIVERIES).where(DELIVERIES.c.id == delivery_id)).first()
    return None if row is None else _delivery(row)
