"""The database tables: the audit event chain, its head, the durable webhook inbox, and
the Terraform plans posted for PR heads.

All tables live here so `SQLModel.metadata` (what Alembic compares against) is complete after one
import. Timestamps are tz-aware UTC (`UTCDateTime`); SQLite stores them without an offset.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlmodel import Field, SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from app.store.audit.chain import EventFields

_MERGES = "kind IN ('merge', 'bypass_merge')"
_REVERTING = (
    "kind IN ('merge', 'bypass_merge') AND (payload LIKE '%\"reverts\":{\"commits\":[\"%' "
    'OR payload LIKE \'%"reverts":{"commits":[],"pulls":["%\')'
)
_LIFECYCLE = "kind IN ('agent_pr', 'pr_closed', 'merge', 'bypass_merge')"


def _where(sql: str) -> dict[str, Any]:
    """A partial index's predicate, for both databases."""
    return {"postgresql_where": sa.text(sql), "sqlite_where": sa.text(sql)}


class AuditEvent(SQLModel, table=True):
    """One append-only, hash-chained event. Never updated or deleted (triggers enforce it)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_kind_seq", "kind", "seq"),
        sa.Index("ix_audit_event_repo_pr", "repo", "pr_number", "seq"),
        # Reads of a store of millions (migration 0005; BENCHMARKS.md has their plans).
        sa.Index("ix_audit_event_agent_kind_time", "agent_id", "kind", "occurred_at"),
        sa.Index("ix_audit_event_merge_agent", "agent_id", "seq", **_where(_MERGES)),
        sa.Index("ix_audit_event_merge_repo", "repo", "seq", **_where(_MERGES)),
        sa.Index("ix_audit_event_reverting", "occurred_at", **_where(_REVERTING)),
        sa.Index(
            "ix_audit_event_lifecycle",
            *("agent_id", "repo", "pr_number", "seq", "kind"),
            **_where(_LIFECYCLE),
        ),
    )

    seq: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    kind: str = Field(sa_column=sa.Column(sa.String(40), nullable=False))
    occurred_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=True))
    repo: str | None = Field(default=None)
    pr_number: int | None = Field(default=None)
    head_sha: str | None = Field(default=None, index=True)
    agent_id: str | None = Field(default=None, index=True)
    run_id: str | None = Field(default=None, index=True)
    payload: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    prev_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False, unique=True))

    def fields(self) -> EventFields:
        """The hashed part of this event."""
        return EventFields(
            seq=self.seq,
            kind=self.kind,
            occurred_at=self.occurred_at,
            repo=self.repo,
            pr_number=self.pr_number,
            head_sha=self.head_sha,
            agent_id=self.agent_id,
            run_id=self.run_id,
            payload=self.payload,
        )

    def data(self) -> dict[str, Any]:
        """The payload as an object."""
        value = json.loads(self.payload)
        assert isinstance(value, dict)
        return value


class AuditHead(SQLModel, table=True):
    """The chain head, one row (id=1): the append lock on PostgreSQL and an O(1) head lookup.

    It is a cache of the last event and the last merge; `verify_chain` checks it against the
    events, so deleting the newest events (which the head still names) is detected too.
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    merge_count: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False))
    merge_hash: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))


class Delivery(SQLModel, table=True):
    """A received webhook delivery, queued for the worker (at-least-once, deduplicated by id)."""

    __tablename__ = "delivery"
    __table_args__ = (sa.Index("ix_delivery_status_next", "status", "next_attempt_at"),)

    id: str = Field(primary_key=True)  # X-GitHub-Delivery
    event: str
    action: str | None = Field(default=None)
    installation_id: int | None = Field(default=None, sa_type=sa.BigInteger)
    repo: str | None = Field(default=None)
    pr_number: int | None = Field(default=None)
    head_sha: str | None = Field(default=None)
    payload: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    status: str = Field(default="pending", max_length=20)
    attempts: int = Field(default=0)
    next_attempt_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))
    lease_owner: str | None = Field(default=None)
    lease_until: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))
    completed_at: datetime | None = Field(
        default=None, sa_column=sa.Column(UTCDateTime(), nullable=True)
    )


class StoredPlan(SQLModel, table=True):
    """A Terraform plan posted for one head SHA and module directory (redacted before storage).

    Rows are only added and every row is read: several plans of one (repo, head, dir) are judged
    together, never one replacing another (issue #18). Each arrival is also an audit event
    (`plan_received`). `provenance` is the poster's OIDC claims as JSON (`PlanProvenance`).
    """

    __tablename__ = "terraform_plan"
    __table_args__ = (sa.Index("ix_terraform_plan_head", "repo", "head_sha", "dir", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    repo: str = Field(sa_column=sa.Column(sa.String(200), nullable=False))
    head_sha: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    dir: str = Field(sa_column=sa.Column(sa.String(500), nullable=False))
    sha256: str = Field(sa_column=sa.Column(sa.String(64), nullable=False))
    source: str = Field(sa_column=sa.Column(sa.String(300), nullable=False))
    provenance: str | None = Field(default=None, sa_column=sa.Column(sa.Text(), nullable=True))
    plan: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=sa.Column(UTCDateTime(), nullable=False))


# Core views of the tables, for the bulk and streaming paths that skip the ORM.
EVENTS = cast(sa.Table, AuditEvent.__table__)  # type: ignore[attr-defined]
HEAD = cast(sa.Table, AuditHead.__table__)  # type: ignore[attr-defined]
DELIVERIES = cast(sa.Table, Delivery.__table__)  # type: ignore[attr-defined]
PLANS = cast(sa.Table, StoredPlan.__table__)  # type: ignore[attr-defined]

import app.store.aggregate_tables  # noqa: E402, F401  (the scorecard aggregates' tables, 0004)
