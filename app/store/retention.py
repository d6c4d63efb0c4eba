"""Retention of raw webhook bodies: finished deliveries lose their payload after the retention period.

A delivery's body is GitHub's whole event (PR titles and bodies, commit messages, user data) and is
only needed until a worker has handled it. Once a delivery is finished (`done`, `ignored`, or
`failed` after its last attempt) and older than `COUNTERSIGN_INBOX_RETENTION_DAYS`, its payload
is replaced by an empty body; the row stays (id, event, action, repo, PR, head SHA, status, times),
so a redelivery of the same X-GitHub-Delivery is still recognised as a duplicate. Pending and
in-flight deliveries are never touched.

The audit chain does not read the inbox: its events carry their own redacted data, so a purge
leaves it verifiable. Each purge that cleared anything appends a `retention_purge` event (how
many bodies, how many bytes, the cutoff), so the record says when data was removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import Engine

from app.store.audit import store
from app.store.inbox import _tx
from app.store.tables import DELIVERIES

FINISHED = ("done", "ignored", "failed")
EVENT_KIND = "retention_purge"


@dataclass(frozen=True)
class PurgedDelivery:
    id: str
    event: str
    status: str
    received_at: datetime
    bytes: int


@dataclass(frozen=True)
class PurgeBatch:
    """One bounded pass: what was (or, in a dry run, would be) cleared."""

    cutoff: datetime
    deliveries: tuple[PurgedDelivery, ...]
    dry_run: bool
    audit_seq: int | None = None

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.deliveries)


def cutoff_for(retention_days: float, now: datetime | None = None) -> datetime:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return moment - timedelta(days=retention_days)


def _expired(cutoff: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    finished_at = sa.func.coalesce(DELIVERIES.c.completed_at, DELIVERIES.c.received_at)
    return (
        DELIVERIES.c.status.in_(FINISHED),
        finished_at < cutoff,
        sa.func.length(DELIVERIES.c.payload) > 0,
    )


def purge_batch(
    engine: Engine,
    *,
    retention_days: float,
    batch_size: int,
    dry_run: bool = False,
    now: datetime | None = None,
    after: str | None = None,
) -> PurgeBatch:
    """Clear the bodies of up to `batch_size` expired deliveries, oldest first, in one transaction.

    `after` (a delivery id) lets a dry run page past the rows it has already listed.
    """
    cutoff = cutoff_for(retention_days, now)
    query = (
        sa.select(
            DELIVERIES.c.id,
            DELIVERIES.c.event,
            DELIVERIES.c.status,
            DELIVERIES.c.received_at,
            sa.func.length(DELIVERIES.c.payload),
        )
        .where(*_expired(cutoff), *((DELIVERIES.c.id > after,) if after else ()))
        .order_by(DELIVERIES.c.id)
        .limit(batch_size)
    )
    if not dry_run:  # look first without the write lock: most passes find nothing to do
        with _tx(engine, write=False) as conn:
            if conn.execute(query.limit(1)).first() is None:
                return PurgeBatch(cutoff=cutoff, deliveries=(), dry_run=dry_run)
    with _tx(engine, write=not dry_run) as conn:
        if engine.dialect.name == "postgresql" and not dry_run:
            query = query.with_for_update(skip_locked=True)
        rows = [
            PurgedDelivery(id, event, status, received_at, int(size))
            for id, event, status, received_at, size in conn.execute(query)
        ]
        if rows and not dry_run:
            conn.execute(
                sa.update(DELIVERIES)
                .where(DELIVERIES.c.id.in_([r.id for r in rows]), *_expired(cutoff))
                .values(payload=b"")
            )
    batch = PurgeBatch(cutoff=cutoff, deliveries=tuple(rows), dry_run=dry_run)
    if rows and not dry_run:
        event = store.append(
            engine,
            EVENT_KIND,
            {
                "table": "delivery",
                "deliveries": len(rows),
                "bytes": batch.bytes,
                "retention_days": retention_days,
                "cutoff": cutoff,
                "received_from": min(r.received_at for r in rows),
                "received_to": max(r.received_at for r in rows),
            },
        )
        batch = PurgeBatch(cutoff, batch.deliveries, dry_run, audit_seq=event.seq)
    return batch


def purge_all(
    engine: Engine,
    *,
    retention_days: float,
    batch_size: int,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Iterator[PurgeBatch]:
    """Batches until nothing expired is left (the `countersign retention run` command)."""
    moment = now or datetime.now(UTC)
    after: str | None = None
    while True:
        batch = purge_batch(
            engine,
            retention_days=retention_days,
            batch_size=batch_size,
            dry_run=dry_run,
            now=moment,
            after=after,
        )
        if batch.deliveries:
            yield batch
        if len(batch.deliveries) < batch_size:
            return
        if dry_run:
            after = batch.deliveries[-1].id
