"""audit_event indexes for a store of millions: per-agent reads, merge pages, reverts, lifecycle

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 23:00:00

Each serves a read that otherwise scans in proportion to the whole store (plans in
BENCHMARKS.md, "A store of millions of events"):
- ix_audit_event_agent_kind_time: one agent's events of a kind in a time window (the trust ramp's
  merges, the rate limit's openings, scorecards of one agent);
- ix_audit_event_merge_agent, ix_audit_event_merge_repo: the console's Merges page filtered by
  agent or repository, newest first, its count, and the filter form's choices (a skip scan);
  partial: merges only;
- ix_audit_event_reverting: the few merges that revert something (partial on the same LIKE
  patterns as `app.store.audit.agent_events.REVERTING`), read by every ramp record;
- ix_audit_event_lifecycle: an agent's open PRs (the latest lifecycle event of each of its PRs),
  answered from the index alone.
On PostgreSQL, creating them on a large table takes minutes and blocks writes meanwhile.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MERGES = "kind IN ('merge', 'bypass_merge')"
REVERTING = (
    "kind IN ('merge', 'bypass_merge') AND (payload LIKE '%\"reverts\":{\"commits\":[\"%' "
    'OR payload LIKE \'%"reverts":{"commits":[],"pulls":["%\')'
)
LIFECYCLE = "kind IN ('agent_pr', 'pr_closed', 'merge', 'bypass_merge')"


def _where(sql: str) -> dict[str, object]:
    return {"postgresql_where": sa.text(sql), "sqlite_where": sa.text(sql)}


def upgrade() -> None:
    op.create_index(
        "ix_audit_event_agent_kind_time", "audit_event", ["agent_id", "kind", "occurred_at"]
    )
    op.create_index(
        "ix_audit_event_merge_agent", "audit_event", ["agent_id", "seq"], **_where(MERGES)
    )
    op.create_index("ix_audit_event_merge_repo", "audit_event", ["repo", "seq"], **_where(MERGES))
    op.create_index("ix_audit_event_reverting", "audit_event", ["occurred_at"], **_where(REVERTING))
    op.create_index(
        "ix_audit_event_lifecycle",
        "audit_event",
        ["agent_id", "repo", "pr_number", "seq", "kind"],
        **_where(LIFECYCLE),
    )


def downgrade() -> None:
    for name in (
        "ix_audit_event_lifecycle",
        "ix_audit_event_reverting",
        "ix_audit_event_merge_repo",
        "ix_audit_event_merge_agent",
        "ix_audit_event_agent_kind_time",
    ):
        op.drop_index(name, table_name="audit_event")
