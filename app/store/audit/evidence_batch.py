"""Evidence packets for many merges at once (the SLSA VSAs and the OSCAL results of an export).

`build_packet` reads one PR's events and scans the repository's deployment decisions: per merge
of a large export that is two queries each, the second growing with the repository's history.
Here the events of a batch of merge records are read with one query per repository, and the
packets come without `deployments`, which neither format states.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.store.audit.evidence import EvidencePacket, packet_of
from app.store.tables import AuditEvent

BATCH = 200
"""Merge records per round of reads: memory stays flat on an export of any size."""


def _batches(records: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for record in records:
        batch.append(record)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _events_of(
    session: Session, batch: list[dict[str, Any]]
) -> dict[tuple[str, int], list[AuditEvent]]:
    """Every event of the batch's PRs, by (repo, pr), oldest first: one query per repository."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for record in batch:
        wanted[str(record["repo"])].add(int(record["pr"]))
    found: dict[tuple[str, int], list[AuditEvent]] = defaultdict(list)
    for repo, prs in sorted(wanted.items()):
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.repo == repo, col(AuditEvent.pr_number).in_(sorted(prs)))
            .order_by(col(AuditEvent.seq))
        )
        for event in session.exec(stmt):
            found[(repo, int(event.pr_number or 0))].append(event)
    return found


def merge_packets(engine: Engine, records: Iterable[dict[str, Any]]) -> Iterator[EvidencePacket]:
    """The packet of each merge record (export lines: `repo`, `pr`, `seq`), in their order;
    UsageError, as `build_packet`, for a record whose merge is not in the store."""
    with Session(engine) as session:
        for batch in _batches(records):
            events = _events_of(session, batch)
            for record in batch:
                repo, pr = str(record["repo"]), int(record["pr"])
                yield packet_of(events.get((repo, pr), []), repo, pr, seq=int(record["seq"]))
            session.expunge_all()
