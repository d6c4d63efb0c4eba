"""The console's reads and its two writes (bypass reviews, chain verifications) on the audit store.

Merges are filtered with the export's conditions (app.store.audit.export), so the list a user sees and
the file they download hold the same records. Writes go through `app.store.audit.store.append`: they are
chained events like any other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session

from app.core.errors import UsageError
from app.store.audit.chain import MERGE_KINDS
from app.store.audit.export import merge_conditions
from app.store.audit.records import BypassReviewRecord, ChainVerifiedRecord
from app.store.audit.store import append, locked_chain
from app.store.audit.verify import VerifyResult, verify_chain
from app.store.tables import EVENTS, HEAD

if TYPE_CHECKING:
    from app.store.audit.evidence import EvidencePacket

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
    engine: Engine,
    flt: MergeFilter,
    page: int = 1,
    per_page: int = PER_PAGE,
    *,
    before: int | None = None,
    after: int | None = None,
) -> tuple[list[MergeRow], int]:
    """One page of merges matching `flt`, newest first, and how many match in all.

    `before`/`after` (a seq on the neighbouring page) page by key: the rows just older than
    `before`, or just newer than `after`, at the cost of one index range however deep the page.
    Without them `page` counts from the newest (OFFSET: each page reads all the pages before it).
    """
    conditions = flt.conditions(engine.dialect.name)
    order = EVENTS.c.seq.desc()
    query = sa.select(EVENTS.c.seq, EVENTS.c.kind, EVENTS.c.payload).where(*conditions)
    if before is not None:
        query = query.where(EVENTS.c.seq < before)
    elif after is not None:
        query, order = query.where(EVENTS.c.seq > after), EVENTS.c.seq.asc()
    else:
        query = query.offset(max(0, page - 1) * per_page)
    query = query.order_by(order).limit(per_page)
    with engine.connect() as conn:
        total = _count(conn, flt, conditions)
        rows = list(conn.execute(query).all())
    if after is not None and before is None:
        rows.reverse()
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


def _count(conn: sa.Connection, flt: MergeFilter, conditions: list[Any]) -> int:
    """How many merges match: the chain head counts them all (verify checks that count), so an
    unfiltered page need not count the table."""
    if flt == MergeFilter():
        return int(conn.execute(sa.select(HEAD.c.merge_count).where(HEAD.c.id == 1)).scalar_one())
    query = sa.select(sa.func.count()).select_from(EVENTS).where(*conditions)
    return int(conn.execute(query).scalar_one())


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
    """The values a merge filter can take (repositories, agents) for the form's choices.

    A skip scan, one index probe per value (`min(col) WHERE col > previous`): the store has
    dozens of repositories and agents but may hold millions of merges."""
    col = EVENTS.c[column]
    merges = EVENTS.c.kind.in_(MERGE_KINDS)
    first = sa.select(sa.func.min(col).label("value")).where(merges, col.is_not(None))
    found = first.cte("found", recursive=True)
    following = sa.select(sa.func.min(col)).where(merges, col > found.c.value).scalar_subquery()
    found = found.union_all(sa.select(following).where(found.c.value.is_not(None)))
    query = sa.select(found.c.value).where(found.c.value.is_not(None))
    with engine.connect() as conn:
        return [str(v) for (v,) in conn.execute(query)]


class ReviewRefused(UsageError):
    """A bypass review that may not be recorded (not a bypass, already reviewed, own merge)."""


def involved_in(packet: EvidencePacket) -> dict[str, str]:
    """Who took part in a merge (casefolded login → role); none of them may review its bypass."""
    roles = {
        "the author": packet.author,
        "the merger": packet.merged_by,
        "the run's operator": packet.operator,
        "who broke glass": packet.break_glass.by if packet.break_glass else None,
    }
    return {login.casefold(): role for role, login in roles.items() if login}


def review_refusal(packet: EvidencePacket, reviewer: str) -> str | None:
    """Why `reviewer` may not review this merge, or None when they may."""
    repo, pr = packet.repo, packet.pr
    if not packet.bypass:
        return f"{repo}#{pr} was not a bypass merge: there is nothing to review"
    if packet.bypass_review is not None:
        return f"{repo}#{pr} was already reviewed by {packet.bypass_review.reviewer}"
    role = involved_in(packet).get(reviewer.casefold())
    if role is not None:
        return f"{reviewer} is {role} of {repo}#{pr}: the review must come from someone else"
    return None


def record_bypass_review(engine: Engine, repo: str, pr: int, *, reviewer: str, note: str) -> int:
    """Record the review of the PR's newest bypass merge; the new event's seq.

    The check and the append run under the chain lock, so two reviews at once record one event
    (the second is refused as already reviewed)."""
    from app.store.audit.evidence import build_packet

    note = note.strip()
    with locked_chain(engine) as conn:
        with Session(conn) as session:
            packet = build_packet(session, repo, pr)
        why = review_refusal(packet, reviewer)
        if why is not None:
            raise ReviewRefused(why)
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
            conn,
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
