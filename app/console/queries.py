"""The console's reads and its two writes (bypass reviews, chain verifications) on the audit store.

Merges are filtered with the export's conditions (app.store.audit.export), so the list a user sees and
the file they download hold the same records. Writes go through `app.store.audit.store.append`: they are
chained events like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine

from app.core.errors import UsageError
from app.store.audit.chain import MERGE_KINDS
from app.store.audit.export import merge_conditions
from app.store.audit.records import BypassReviewRecord, ChainVerifiedRecord
from app.store.audit.store import append
from app.store.audit.verify import VerifyResult, verify_chain
from app.store.tables import EVENTS

PER_PAGE = 25


@dataclass(frozen=True, slots=True)
class MergeFilter:
    """The Merges page's filter (every field optional); the export takes the same one."""

    repo: str | None = None
    agent: str | None = None
    run_id: str | None = None
    tier: str | None = None
    bypass: bool | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self, dialect: str) -> list[sa.ColumnElement[bool]]:
        return merge_conditions(
            self.since,
            self.until,
            self.repo,
            self.agent,
            run_id=self.run_id,
            tier=self.tier,
            bypass=self.bypass,
            dialect=dialect,
        )


@dataclass(frozen=True, slots=True)
class MergeRow:
    seq: int
    repo: str
    pr: int
    title: str
    agent_id: str | None
    run_id: str | None
    tier: str
    risk_level: str
    merged_by: str | None
    merged_at: str
    check_conclusion: str | None
    bypass: bool
    reviewed_by: str | None
    """For a bypass merge, who reviewed it (None: needs review)."""


def merges_page(
    engine: Engine, flt: MergeFilter, page: int = 1, per_page: int = PER_PAGE
) -> tuple[list[MergeRow], int]:
    """One page of merges matching `flt`, newest first, and how many match in all."""
    conditions = flt.conditions(engine.dialect.name)
    query = (
        sa.select(EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.payload)
        .where(*conditions)
        .order_by(EVENTS.c.seq.desc())
        .limit(per_page)
        .offset(max(0, page - 1) * per_page)
    )
    with engine.connect() as conn:
        total = int(
            conn.execute(
                sa.select(sa.func.count()).select_from(EVENTS).where(*conditions)
            ).scalar_one()
        )
        rows = conn.execute(query).all()
    bypass_seqs = [int(r.seq) for r in rows if r.kind == "bypass_merge"]
    reviews = reviews_of(engine, bypass_seqs)
    result = []
    for row in rows:
        data: dict[str, Any] = json.loads(row.payload)
        result.append(
            MergeRow(
                seq=int(row.seq),
                repo=str(data.get("repo")),
                pr=int(data.get("pr") or 0),
                title=str(data.get("title") or ""),
                agent_id=data.get("agent_id"),
                run_id=data.get("run_id"),
                tier=str(data.get("tier")),
                risk_level=str(data.get("risk_level") or ""),
                merged_by=data.get("merged_by"),
                merged_at=str(data.get("merged_at") or ""),
                check_conclusion=data.get("check_conclusion"),
                bypass=row.kind == "bypass_merge",
                reviewed_by=reviews.get(int(row.seq)),
            )
        )
    return result, total


def reviews_of(engine: Engine, merge_seqs: list[int]) -> dict[int, str]:
    """Who reviewed each of these bypass merges (merges without a review are absent)."""
    if not merge_seqs:
        return {}
    wanted = set(merge_seqs)
    found: dict[int, str] = {}
    query = sa.select(EVENTS.c.payload).where(
        EVENTS.c.kind == "bypass_reviewed", EVENTS.c.seq > min(wanted)
    )
    with engine.connect() as conn:
        for (payload,) in conn.execute(query.order_by(EVENTS.c.seq)):
            data = json.loads(payload)
            seq = data.get("merge_seq")
            if seq in wanted and seq not in found:
                found[int(seq)] = str(data.get("reviewer"))
    return found


def distinct_values(engine: Engine, column: str) -> list[str]:
    """The values a merge filter can take (repositories, agents) for the form's choices."""
    col = EVENTS.c[column]
    query = (
        sa.select(col)
        .where(EVENTS.c.kind.in_(MERGE_KINDS), col.is_not(None))
        .distinct()
        .order_by(col)
    )
    with engine.connect() as conn:
        return [str(v) for (v,) in conn.execute(query)]


class ReviewRefused(UsageError):
    """A bypass review that may not be recorded (not a bypass, already reviewed, own merge)."""


def record_bypass_review(engine: Engine, repo: str, pr: int, *, reviewer: str, note: str) -> int:
    """Record the review of the PR's newest bypass merge; the new event's seq."""
    from app.store.audit.evidence import build_packet

    packet = build_packet(engine, repo, pr)
    if not packet.bypass:
        raise ReviewRefused(f"{repo}#{pr} was not a bypass merge: there is nothing to review")
    if packet.bypass_review is not None:
        raise ReviewRefused(f"{repo}#{pr} was already reviewed by {packet.bypass_review.reviewer}")
    if packet.merged_by and packet.merged_by.casefold() == reviewer.casefold():
        raise ReviewRefused(
            f"{reviewer} merged {repo}#{pr}: the review must come from someone else"
        )
    note = note.strip()
    if not note:
        raise ReviewRefused("write a note saying what you checked")
    record = BypassReviewRecord(
        merge_seq=packet.chain_seq,
        merge_hash=packet.chain_hash,
        merged_by=packet.merged_by,
        reviewer=reviewer,
        note=note[:4000],
    )
    event = append(
        engine,
        "bypass_reviewed",
        record,
        repo=packet.repo,
        pr_number=packet.pr,
        head_sha=packet.head_sha,
        agent_id=packet.agent_id,
        run_id=packet.run_id,
    )
    return event.seq


@dataclass(frozen=True, slots=True)
class Verification:
    seq: int
    at: datetime
    ok: bool
    count: int
    first_bad_seq: int | None
    reason: str
    by: str


def last_verification(engine: Engine) -> Verification | None:
    """The newest recorded `chain_verified` event."""
    query = (
        sa.select(EVENTS.c.seq, EVENTS.c.occurred_at, EVENTS.c.payload)
        .where(EVENTS.c.kind == "chain_verified")
        .order_by(EVENTS.c.seq.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).one_or_none()
    if row is None:
        return None
    data = json.loads(row.payload)
    return Verification(
        seq=int(row.seq),
        at=row.occurred_at,
        ok=bool(data.get("ok")),
        count=int(data.get("count") or 0),
        first_bad_seq=data.get("first_bad_seq"),
        reason=str(data.get("reason") or ""),
        by=str(data.get("by") or ""),
    )


def verify_and_record(engine: Engine, by: str) -> VerifyResult:
    """Recompute the whole chain (app.store.audit.verify) and record what was found."""
    result = verify_chain(engine)
    append(
        engine,
        "chain_verified",
        ChainVerifiedRecord(
            ok=result.ok,
            count=result.count,
            first_bad_seq=result.first_bad_seq,
            reason=result.reason,
            by=by,
        ),
    )
    return result
