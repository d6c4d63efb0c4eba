"""What the replay reads: stored `evaluation` events (and the `merge` records of merged heads).

The edge of `countersign replay` and of the check's replay section; the judging is pure
(`app.gate.replay`). Payloads are read as stored, so as redacted as the chain keeps them.
Reads are bounded by count (newest first): the caller says when the bound cut the history.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.core.report import ApprovalRecord
from app.gate.replay import Stored
from app.store.tables import AuditEvent

_CHUNK = 500


@dataclass(frozen=True)
class Window:
    """Which evaluations: a time window (on the evaluation, or on the merge with `merged`), one
    repository or all, and at most `limit` of them (newest first)."""

    since: datetime | None = None
    until: datetime | None = None
    repo: str | None = None
    merged: bool = False
    limit: int = 100_000


@dataclass(frozen=True)
class Loaded:
    stored: tuple[Stored, ...]
    cut: bool
    """More matched than `limit`: only the newest were read."""


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _where(
    stmt: sa.Select[tuple[AuditEvent]], kind: str, window: Window
) -> sa.Select[tuple[AuditEvent]]:
    stmt = stmt.where(col(AuditEvent.kind) == kind)
    if window.repo:
        stmt = stmt.where(col(AuditEvent.repo) == window.repo)
    if window.since is not None:
        stmt = stmt.where(col(AuditEvent.occurred_at) >= _aware(window.since))
    if window.until is not None:
        stmt = stmt.where(col(AuditEvent.occurred_at) < _aware(window.until))
    return stmt


def load(engine: Engine, window: Window, web_url: str) -> Loaded:
    """The latest evaluation of each PR (with its merge record when that head merged), or
    (`merged`) of each merged head, newest first."""
    if window.merged:
        return _merged(engine, window, web_url)
    latest = _where(
        sa.select(sa.func.max(AuditEvent.seq)).group_by(  # type: ignore[arg-type]
            col(AuditEvent.repo), col(AuditEvent.pr_number)
        ),
        "evaluation",
        window,
    ).subquery()
    stmt = (
        select(AuditEvent)
        .where(col(AuditEvent.seq).in_(sa.select(latest)))
        .order_by(col(AuditEvent.seq).desc())
        .limit(window.limit + 1)
    )
    with Session(engine) as session:
        rows = list(session.exec(stmt).all())
        cut = len(rows) > window.limit
        rows = rows[: window.limit]
        merges = _latest_of(session, "merge", [e.head_sha or "" for e in rows])
    out = []
    for event in rows:
        merge = merges.get((event.repo or "", event.pr_number or 0, event.head_sha or ""))
        out.append(_stored(event, web_url, merge=json.loads(merge.payload) if merge else None))
    return Loaded(tuple(out), cut)


def _stored(
    event: AuditEvent,
    web_url: str,
    *,
    merge: dict[str, object] | None = None,
) -> Stored:
    data = event.data()
    repo = event.repo or ""
    pr = event.pr_number or 0
    url = str(merge.get("url") or "") if merge else ""
    approvals = None
    if merge is not None:
        approvals = tuple(
            ApprovalRecord(login=str(a["login"]), teams=tuple(a.get("teams") or ()))
            for a in merge.get("approvals") or ()  # type: ignore[attr-defined]
        )
    return Stored(
        seq=event.seq,
        at=_aware(event.occurred_at),
        repo=repo,
        pr=pr,
        head_sha=str(data.get("head_sha") or event.head_sha or ""),
        url=url or f"{web_url.rstrip('/')}/{repo}/pull/{pr}",
        report=data.get("report") or {},
        merged=merge is not None,
        approvals=approvals,
    )


def _merged(engine: Engine, window: Window, web_url: str) -> Loaded:
    """Each merge in the window and the latest evaluation of the head it merged."""
    stmt = (
        _where(sa.select(AuditEvent), "merge", window)
        .order_by(col(AuditEvent.seq).desc())
        .limit(window.limit + 1)
    )
    with Session(engine) as session:
        merges = [row[0] for row in session.execute(stmt).all()]
        cut = len(merges) > window.limit
        merges = merges[: window.limit]
        evaluations = _latest_of(session, "evaluation", [m.head_sha or "" for m in merges])
    out: list[Stored] = []
    for merge in merges:
        record = json.loads(merge.payload)
        found = evaluations.get((merge.repo or "", merge.pr_number or 0, merge.head_sha or ""))
        if found is None:
            out.append(_no_evaluation(merge, record, web_url))
        else:
            out.append(_stored(found, web_url, merge=record))
    return Loaded(tuple(out), cut)


def _no_evaluation(merge: AuditEvent, record: dict[str, object], web_url: str) -> Stored:
    """A merge whose head has no stored evaluation: nothing to judge (said, never guessed)."""
    stored = _stored(merge, web_url, merge=record)
    return replace(stored, report={}, unavailable="merged head has no stored evaluation")


def _latest_of(
    session: Session, kind: str, heads: Iterable[str]
) -> dict[tuple[str, int, str], AuditEvent]:
    """The latest event of `kind` per (repo, PR, head) for these heads, read in chunks."""
    wanted = sorted({h for h in heads if h})
    found: dict[tuple[str, int, str], AuditEvent] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = (
            select(AuditEvent)
            .where(col(AuditEvent.kind) == kind, col(AuditEvent.head_sha).in_(chunk))
            .order_by(col(AuditEvent.seq))
        )
        for event in session.exec(stmt).all():
            found[(event.repo or "", event.pr_number or 0, event.head_sha or "")] = event
    return found
