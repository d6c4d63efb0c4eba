"""The scorecard aggregates' tables (migration 0004): derived from the audit chain, kept in the
append's transaction, rebuilt by `countersign audit rebuild-aggregates` (app/store/audit/
aggregates.py). Never a source of truth: drop them and rebuild, the figures come back.

- `agent_day`: one row per agent × rule class ('' = the whole agent) × UTC day, the additive
  counters of app.agentops.aggregates.Counts;
- `agent_day_latency`: approval-latency histogram buckets of those rows;
- `agent_day_waiver`: waivers per agent × day × rule (a scorecard's `waivers_by_rule`);
- `agent_pr_state`: per PR, what later events need to move its figures (anchor day, latest
  conclusion, classes, the last merge for reverts).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import SQLModel

from app.agentops.aggregates import COUNTERS

_META = SQLModel.metadata


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


AGENT_DAY = sa.Table(
    "agent_day",
    _META,
    sa.Column("agent_id", sa.String(200), primary_key=True),
    sa.Column("rule_class", sa.String(100), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    *(_counter(name) for name in COUNTERS),
    sa.Index("ix_agent_day_day", "day"),
)

AGENT_DAY_LATENCY = sa.Table(
    "agent_day_latency",
    _META,
    sa.Column("agent_id", sa.String(200), primary_key=True),
    sa.Column("rule_class", sa.String(100), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("bucket", sa.Integer, primary_key=True),
    _counter("n"),
    sa.Index("ix_agent_day_latency_day", "day"),
)

AGENT_DAY_WAIVER = sa.Table(
    "agent_day_waiver",
    _META,
    sa.Column("agent_id", sa.String(200), primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("rule", sa.String(200), primary_key=True),
    _counter("n"),
    sa.Index("ix_agent_day_waiver_day", "day"),
)

AGENT_PR_STATE = sa.Table(
    "agent_pr_state",
    _META,
    sa.Column("repo", sa.String(200), primary_key=True),
    sa.Column("pr_number", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("agent_id", sa.String(200), nullable=True),
    sa.Column("day", sa.Date, nullable=True),
    sa.Column("classes", sa.Text, nullable=False, server_default=""),
    sa.Column("conclusion", sa.String(40), nullable=False, server_default=""),
    sa.Column("blocked", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("named", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("merge_agent", sa.String(200), nullable=True),
    sa.Column("merge_day", sa.Date, nullable=True),
    sa.Column("merge_classes", sa.Text, nullable=False, server_default=""),
    sa.Column("merge_sha", sa.String(64), nullable=True),
    sa.Column("merge_seq", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reverted", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("ix_agent_pr_state_pr", "pr_number"),
    sa.Index("ix_agent_pr_state_merge_sha", "merge_sha"),
    sa.Index("ix_agent_pr_state_reverted", "reverted", "merge_day"),
)

AGGREGATE_TABLES = (AGENT_DAY, AGENT_DAY_LATENCY, AGENT_DAY_WAIVER, AGENT_PR_STATE)
