"""What the replay reads: stored `evaluation` events (and the `merge` records of merged heads).

The edge of `countersign replay` and of the check's replay section; the judging is pure
(`app.gate.replay`). Payloads are read as stored, so as redacted as the chain keeps them.
Reads are bounded by count (newest first): the caller says when the bound cut the history.
Only the columns the replay needs are read, and payloads are parsed with orjson: reading is
most of what a replay of many evaluations costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import Connection, Engine

from app.core.moments import aware_utc
from app.core.report import ApprovalRecord
from app.gate.replay import Stored
from app.store.tables import EVENTS

_CHUNK = 500
_Row = sa.Row[Any, Any, Any, Any, Any, Any]
"""One event as `_COLUMNS` reads it."""
_COLUMNS = (
    EVENTS.c.seq,
    EVENTS.c.occurred_at,
    EVENTS.c.repo,
    EVENTS.c.pr_number,
    EVENTS.c.head_sha,
    EVENTS.c.payload,
)


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


def _where(stmt: sa.Select[Any], kind: str, window: Window) -> sa.Select[Any]:
    stmt = stmt.where(EVENTS.c.kind == kind)
    if window.repo:
        stmt = stmt.where(EVENTS.c.repo == window.repo)
    if window.since is not None:
        stmt = stmt.where(EVENTS.c.occurred_at >= aware_utc(window.since))
    if window.until is not None:
        stmt = stmt.where(EVENTS.c.occurred_at < aware_utc(window.until))
    return stmt


def _key(row: _Row) -> tuple[str, int, str]:
    return (row.repo or "", row.pr_number or 0, row.head_sha or "")


def load(engine: Engine, window: Window, web_url: str) -> Loaded:
    """The latest evaluation of each PR (with its merge record when that head merged), or
    (`merged`) of each merged head, newest first."""
    with engine.connect() as conn:
        if window.merged:
            return _merged(conn, window, web_url)
        grouped = sa.select(sa.func.max(EVENTS.c.seq)).group_by(EVENTS.c.repo, EVENTS.c.pr_number)
        latest = _where(grouped, "evaluation", window).subquery()
        stmt = (
            sa.select(*_COLUMNS)
            .where(EVENTS.c.seq.in_(sa.select(latest)))
            .order_by(EVENTS.c.seq.desc())
            .limit(window.limit + 1)
        )
        rows = conn.execute(stmt).all()
        cut = len(rows) > window.limit
        rows = rows[: window.limit]
        merges = _latest_of(conn, "merge", [r.head_sha or "" for r in rows])
    out = []
    for row in rows:
        merge = merges.get(_key(row))
        out.append(_stored(row, web_url, merge=orjson.loads(merge.payload) if merge else None))
    return Loaded(tuple(out), cut)


def _approvals(merge: dict[str, Any]) -> tuple[ApprovalRecord, ...]:
    return tuple(
        ApprovalRecord(login=str(a["login"]), teams=tuple(a.get("teams") or ()))
        for a in merge.get("approvals") or ()
    )


def _stored(
    row: _Row, web_url: str, *, merge: dict[str, Any] | None = None, data: bool = True
) -> Stored:
    payload = orjson.loads(row.payload) if data else {}
    repo, pr = row.repo or "", row.pr_number or 0
    url = str(merge.get("url") or "") if merge else ""
    return Stored(
        seq=row.seq,
        at=aware_utc(row.occurred_at),
        repo=repo,
        pr=pr,
        head_sha=str(payload.get("head_sha") or row.head_sha or ""),
        url=url or f"{web_url.rstrip('/')}/{repo}/pull/{pr}",
        report=payload.get("report") or {},
        merged=merge is not None,
        approvals=_approvals(merge) if merge is not None else None,
        unavailable=None if data else "merged head has no stored evaluation",
        bypassed=bool(merge and (merge.get("bypass") or merge.get("break_glass"))),
    )


def _merged(conn: Connection, window: Window, web_url: str) -> Loaded:
    """Each merge in the window and the latest evaluation of the head it merged."""
    stmt = (
        _where(sa.select(*_COLUMNS), "merge", window)
        .order_by(EVENTS.c.seq.desc())
        .limit(window.limit + 1)
    )
    merges: Sequence[_Row] = conn.execute(stmt).all()
    cut = len(merges) > window.limit
    merges = merges[: window.limit]
    evaluations = _latest_of(conn, "evaluation", [m.head_sha or "" for m in merges])
    out: list[Stored] = []
    for merge in merges:
        record = orjson.loads(merge.payload)
        found = evaluations.get(_key(merge))
        if found is None:  # nothing to judge: said, never guessed
            out.append(_stored(merge, web_url, merge=record, data=False))
        else:
            out.append(_stored(found, web_url, merge=record))
    return Loaded(tuple(out), cut)


def _latest_of(
    conn: Connection, kind: str, heads: Iterable[str]
) -> dict[tuple[str, int, str], _Row]:
    """The latest event of `kind` per (repo, PR, head) for these heads, read in chunks."""
    wanted = sorted({h for h in heads if h})
    found: dict[tuple[str, int, str], _Row] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        stmt = (
            sa.select(*_COLUMNS)
            .where(EVENTS.c.kind == kind, EVENTS.c.head_sha.in_(chunk))
            .order_by(EVENTS.c.seq)
        )
        for row in conn.execute(stmt):
            found[_key(row)] = row
    return found
