"""Appending to the audit chain, and the reads the service needs.

Appends are serialized by the chain-head row: `SELECT … FOR UPDATE` on PostgreSQL, `BEGIN
IMMEDIATE` on SQLite. Under that lock the next seq (no gaps: we never use a sequence, whose values
are lost on rollback), the previous hash and, for merges, the merge index are read and written
together, so concurrent writers in several processes still produce one unbroken chain. Unique
constraints on `seq` and `prev_hash` back this up: a fork cannot be stored.

Each append is an `audit.append` span (kind, seq, repo, PR, agent, run ID) made through the global
tracer API in `app.runtime.telemetry`, so this package needs nothing from the service.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine, exc
from sqlmodel import Session, col, select

from app.core.errors import DatabaseNotReady
from app.runtime import telemetry
from app.store.audit import aggregates
from app.store.audit.chain import (
    MERGE_KINDS,
    EventFields,
    canonical_json,
    clean_text,
    event_hash,
    sanitize_payload,
)
from app.store.audit.records import MergeRecord
from app.store.db import SQLITE_BEGIN, UPGRADE_COMMAND
from app.store.tables import EVENTS, HEAD, AuditEvent

KINDS: tuple[str, ...] = (
    "evaluation",
    "approval",
    "dismissal",
    "merge",
    "bypass_merge",
    "delivery_rejected",  # no longer written (unsigned requests stay out of the chain); old chains
    "run_id_changed",
    "config_invalid",
    "merge_group",
    "break_glass",
    "bypass_reviewed",
    "chain_verified",
    "waiver",
    "waiver_revoked",
    "freeze_exception",
    "deployment_decision",
)
_KIND = re.compile(r"^[a-z][a-z0-9_]{0,39}$")

Target = Engine | Session | Connection


def _text(value: str | None) -> str | None:
    """Filter columns: text both UTF-8 and PostgreSQL accept (no lone surrogates, no NUL)."""
    return None if value is None else clean_text(value).replace("\x00", "\ufffd")


def _payload_dict(kind: str, payload: BaseModel | Mapping[str, Any]) -> dict[str, Any]:
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)
    if kind in MERGE_KINDS:
        try:
            data = MergeRecord.model_validate(data).model_dump(mode="json")
        except ValidationError as error:
            raise ValueError(f"a {kind} payload must be a MergeRecord: {error}") from error
    return sanitize_payload(data)


def append(
    target: Target,
    kind: str,
    payload: BaseModel | Mapping[str, Any],
    *,
    occurred_at: datetime | None = None,
    repo: str | None = None,
    pr_number: int | None = None,
    head_sha: str | None = None,
    agent_id: str | None = None,
    run_id: str | None = None,
) -> AuditEvent:
    """Append one event and return it (a detached copy).

    With an Engine the event is committed here. With a Session or Connection it joins the
    caller's transaction (and holds the chain lock until the caller commits); on SQLite such a
    transaction should append before it reads anything else, or it may have to wait.
    Secret-named payload fields are redacted before hashing. Merge payloads must validate as
    MergeRecord; they get `merge_index` and `prev_merge_hash`, and unset filter columns are
    taken from the record.
    """
    if not _KIND.match(kind):
        raise ValueError(f"audit event kind {kind!r} must match {_KIND.pattern}")
    moment = occurred_at or datetime.now(UTC)
    if moment.utcoffset() is None:
        raise ValueError("occurred_at must be timezone-aware (use datetime.now(UTC))")
    data = _payload_dict(kind, payload)
    if kind in MERGE_KINDS:  # a merge's filter columns default to its record's values
        repo = repo if repo is not None else data["repo"]
        pr_number = pr_number if pr_number is not None else data["pr"]
        head_sha = head_sha if head_sha is not None else data["head_sha"]
        agent_id = agent_id if agent_id is not None else data["agent_id"]
        run_id = run_id if run_id is not None else data["run_id"]
    filters = {
        "repo": _text(repo),
        "pr_number": pr_number,
        "head_sha": _text(head_sha),
        "agent_id": _text(agent_id),
        "run_id": _text(run_id),
    }
    attrs = telemetry.attributes(
        **{
            telemetry.AUDIT_KIND: kind,
            telemetry.REPOSITORY: filters["repo"],
            telemetry.PR: pr_number,
            telemetry.AGENT_ID: filters["agent_id"],
            telemetry.AGENT_RUN_ID: filters["run_id"],
        }
    )
    with telemetry.span("audit.append", attrs=attrs) as span:
        event = _append(target, kind, moment.astimezone(UTC), data, filters)
        span.set_attribute(telemetry.AUDIT_SEQ, event.seq)
        return event


def _append(
    target: Target, kind: str, moment: datetime, data: dict[str, Any], filters: dict[str, Any]
) -> AuditEvent:
    try:
        if isinstance(target, Engine):
            with target.connect() as conn:
                if target.dialect.name == "sqlite":
                    conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
                with conn.begin():
                    return _append_locked(conn, kind, moment, data, filters)
        if isinstance(target, Session):
            bind = target.get_bind()
            options = {SQLITE_BEGIN: "IMMEDIATE"} if bind.dialect.name == "sqlite" else None
            conn = target.connection(execution_options=None if target.in_transaction() else options)
            return _append_locked(conn, kind, moment, data, filters)
        return _append_locked(target, kind, moment, data, filters)
    except (exc.OperationalError, exc.ProgrammingError) as error:
        raise DatabaseNotReady(
            f"cannot append to the audit store: {_first_line(error)}",
            hint=f"is the database reachable and migrated? run `{UPGRADE_COMMAND}`",
        ) from error


def _first_line(error: exc.DBAPIError) -> str:
    return str(error.orig or error).strip().splitlines()[0]


def _append_locked(
    conn: Connection,
    kind: str,
    moment: datetime,
    data: dict[str, Any],
    filters: dict[str, Any],
) -> AuditEvent:
    query = sa.select(HEAD.c.seq, HEAD.c.hash, HEAD.c.merge_count, HEAD.c.merge_hash).where(
        HEAD.c.id == 1
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    head = conn.execute(query).one_or_none()
    if head is None:
        raise DatabaseNotReady(
            "the audit chain head row is missing", hint=f"run `{UPGRADE_COMMAND}`"
        )
    seq = int(head.seq) + 1
    merge_count, merge_hash = int(head.merge_count), str(head.merge_hash)
    if kind in MERGE_KINDS:
        data["merge_index"] = merge_count + 1
        data["prev_merge_hash"] = merge_hash
    fields = EventFields(
        seq=seq, kind=kind, occurred_at=moment, payload=canonical_json(data), **filters
    )
    digest = event_hash(str(head.hash), fields)
    row = {
        "seq": seq,
        "kind": kind,
        "occurred_at": moment,
        **filters,
        "payload": fields.payload,
        "prev_hash": str(head.hash),
        "hash": digest,
    }
    conn.execute(sa.insert(EVENTS).values(**row))
    aggregates.record(conn, aggregates.Row(seq, kind, moment, **filters), data)
    if kind in MERGE_KINDS:
        merge_count, merge_hash = merge_count + 1, digest
    conn.execute(
        sa.update(HEAD)
        .where(HEAD.c.id == 1)
        .values(seq=seq, hash=digest, merge_count=merge_count, merge_hash=merge_hash)
    )
    return AuditEvent(**row)


@contextmanager
def locked_chain(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the chain lock (row lock on PostgreSQL, `BEGIN IMMEDIATE` on
    SQLite) from its first statement: read, decide, then `append(conn, ...)` without a race,
    as for a "record once" event. Commits when the block ends."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})
        with conn.begin():
            query = sa.select(HEAD.c.seq).where(HEAD.c.id == 1)
            if engine.dialect.name == "postgresql":
                query = query.with_for_update()
            conn.execute(query)
            yield conn


def _session(target: Engine | Session) -> Session:
    return Session(target) if isinstance(target, Engine) else target


def latest_evaluation(
    target: Engine | Session, repo: str, pr: int, head_sha: str
) -> AuditEvent | None:
    """The newest `evaluation` event for this PR head, or None."""
    stmt = (
        select(AuditEvent)
        .where(
            AuditEvent.kind == "evaluation",
            AuditEvent.repo == repo,
            AuditEvent.pr_number == pr,
            AuditEvent.head_sha == head_sha,
        )
        .order_by(col(AuditEvent.seq).desc())
        .limit(1)
    )
    if isinstance(target, Engine):
        with Session(target) as session:
            return session.exec(stmt).first()
    return target.exec(stmt).first()


def evaluations_for_pr(target: Engine | Session, repo: str, pr: int) -> list[AuditEvent]:
    """Every `evaluation` of a PR, oldest first (approval carry-over reads this history)."""
    return events_for_pr(target, repo, pr, kinds=("evaluation",))


def events_for_pr(
    target: Engine | Session, repo: str, pr: int, *, kinds: tuple[str, ...] | None = None
) -> list[AuditEvent]:
    """A PR's events (optionally of some kinds), oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.repo == repo, AuditEvent.pr_number == pr)
    if kinds:
        stmt = stmt.where(col(AuditEvent.kind).in_(kinds))
    stmt = stmt.order_by(col(AuditEvent.seq))
    if isinstance(target, Engine):
        with Session(target) as session:
            return list(session.exec(stmt).all())
    return list(target.exec(stmt).all())


def chain_head(target: Engine | Connection) -> tuple[int, str]:
    """(seq, hash) of the last appended event; (0, genesis) for an empty store."""
    if isinstance(target, Engine):
        with target.connect() as conn:
            return chain_head(conn)
    row = target.execute(sa.select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).one()
    return int(row.seq), str(row.hash)
