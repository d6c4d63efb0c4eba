"""scorecard aggregates per agent × rule class × day, kept with each audit append; backfilled

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 23:00:00

The upgrade creates the tables and fills them from the chain with the same code as
`countersign audit rebuild-aggregates` (app/store/audit/aggregates.py), in the migration's
transaction: an existing store's scorecards are right from the first request after upgrading.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _counter(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


COUNTERS = (
    "evaluated",
    "evaluated_with_run_id",
    "blocked",
    "failed",
    "merged",
    "bypassed",
    "reverted",
    "waived",
    "merges_with_run_id",
    "merges_without_run_id",
    "merges_with_cost",
    "cost_micro_usd",
    "analyze_calls",
    "cost_places",
)


def upgrade() -> None:
    op.create_table(
        "agent_day",
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("rule_class", sa.String(100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(_counter(name) for name in COUNTERS),
        sa.PrimaryKeyConstraint("agent_id", "rule_class", "day"),
    )
    op.create_index("ix_agent_day_day", "agent_day", ["day"])
    op.create_table(
        "agent_day_latency",
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("rule_class", sa.String(100), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        _counter("n"),
        sa.PrimaryKeyConstraint("agent_id", "rule_class", "day", "bucket"),
    )
    op.create_index("ix_agent_day_latency_day", "agent_day_latency", ["day"])
    op.create_table(
        "agent_day_waiver",
        sa.Column("agent_id", sa.String(200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        _counter("n"),
        sa.PrimaryKeyConstraint("agent_id", "day", "rule"),
    )
    op.create_index("ix_agent_day_waiver_day", "agent_day_waiver", ["day"])
    op.create_table(
        "agent_pr_state",
        sa.Column("repo", sa.String(200), nullable=False),
        sa.Column("pr_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agent_id", sa.String(200), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("classes", sa.Text(), nullable=False, server_default=""),
        sa.Column("conclusion", sa.String(40), nullable=False, server_default=""),
        sa.Column("blocked", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("named", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("merge_agent", sa.String(200), nullable=True),
        sa.Column("merge_day", sa.Date(), nullable=True),
        sa.Column("merge_classes", sa.Text(), nullable=False, server_default=""),
        sa.Column("merge_sha", sa.String(64), nullable=True),
        sa.Column("merge_seq", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("reverted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("repo", "pr_number"),
    )
    op.create_index("ix_agent_pr_state_pr", "agent_pr_state", ["pr_number"])
    op.create_index("ix_agent_pr_state_merge_sha", "agent_pr_state", ["merge_sha"])
    op.create_index("ix_agent_pr_state_reverted", "agent_pr_state", ["reverted", "merge_day"])
    from app.store.audit.aggregates import rebuild

    rebuild(op.get_bind())


def downgrade() -> None:
    for table in ("agent_pr_state", "agent_day_waiver", "agent_day_latency", "agent_day"):
        op.drop_table(table)
