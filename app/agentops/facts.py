"""The few facts of each audit event a scorecard needs, as plain values (built by the store
reader, app/store/audit/agent_events.py, or by tests and the console directly)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from app.agentops.reverts import RevertRefs

NO_REVERTS = RevertRefs()


def rule_class(rule: str) -> str:
    """`terraform.delete-stateful` → `terraform` (the rule id's prefix)."""
    return rule.split(".", 1)[0]


@dataclass(frozen=True)
class EvaluationFact:
    """One `evaluation` event of an agent's PR head."""

    seq: int
    at: datetime
    agent_id: str
    repo: str
    pr: int
    head_sha: str
    conclusion: str
    blocked: bool
    """Cedar denied the proposal (tier `blocked`)."""
    rule_classes: frozenset[str] = frozenset()
    run_id: str | None = None
    """The agent run the evaluated head named (`Agent-Run-ID:` trailer), if any."""


@dataclass(frozen=True)
class MergeFact:
    """One `merge` or `bypass_merge` event (any author: a human's revert counts against the
    agent it reverts)."""

    seq: int
    at: datetime
    agent_id: str | None
    repo: str
    pr: int
    head_sha: str
    merge_sha: str | None
    bypass: bool
    run_id: str | None
    cost_usd: Decimal | None
    last_approval_at: datetime | None
    head_first_evaluated_at: datetime | None
    rule_classes: frozenset[str] = frozenset()
    reverts: RevertRefs = NO_REVERTS


@dataclass(frozen=True)
class AnalyzeCallFact:
    """One `POST /api/analyze` call admitted past the token's rate limit."""

    seq: int
    at: datetime
    agent_id: str
    outcome: str = "ok"


@dataclass(frozen=True)
class WaiverFact:
    """One `waiver` event: a named person took `rule`'s finding off one of the agent's PRs."""

    seq: int
    at: datetime
    agent_id: str
    repo: str
    pr: int
    rule: str


Fact = EvaluationFact | MergeFact | AnalyzeCallFact | WaiverFact
