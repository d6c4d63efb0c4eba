"""Stage 6 of the pipeline, approvals: the reviews that count against what the tier and
CODEOWNERS require, and the break-glass verdict (see app/gate/pipeline.py for the stages)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.config.repo import RepoConfig
from app.core.models import Change
from app.core.report import AgentInfo, BreakGlass, Finding, Tier
from app.core.snapshot import PullRequestSnapshot
from app.gate import break_glass
from app.gate.approvals import ApprovalGate, GateInput, GateOutcome, MayApprove, PriorEvaluation
from app.gate.owners import CodeOwnersMap
from app.gate.plan_approvals import replaced_plans
from app.gate.proposer import Proposer
from app.policy.engine import ApprovalSubject

if TYPE_CHECKING:
    from app.gate.pipeline import Gatekeeper


@dataclass(frozen=True)
class Approved:
    """Stage 6's result: the approvals against the tier, and a break-glass verdict."""

    outcome: GateOutcome
    break_glass: BreakGlass | None


def check_approvals(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    config: RepoConfig,
    proposer: Proposer,
    agent_info: AgentInfo,
    changes: Sequence[Change],
    findings: Sequence[Finding],
    tier: Tier,
    policy_version: str,
    history: Mapping[str, PriorEvaluation],
) -> Approved:
    """Stage 6, approvals: the reviews that count (Cedar `approve`, never an agent's or the
    operator's own) against what the tier and CODEOWNERS require; and the break-glass label."""
    agent_logins = frozenset(gate.policy.registry.all_logins()) | frozenset(proposer.bots)
    may_approve = _approver_check(snapshot, gate, proposer, agent_info, tier, agent_logins)
    # Kinds of the files with a tier-2+ finding (linear: a 3,000-resource module must not
    # cost changes × findings comparisons).
    risky_files = {f.file for f in findings if _tier_at_least(f.tier, 2)}
    risky_kinds = tuple(sorted({c.kind for c in changes if c.file in risky_files}))
    outcome = ApprovalGate().evaluate(
        GateInput(
            tier=tier,
            changes=tuple(changes),
            risky_kinds=risky_kinds,
            owners=CodeOwnersMap.parse(snapshot.codeowners, source="CODEOWNERS"),
            config=config,
            reviews=snapshot.reviews,
            author=snapshot.author or "",
            agent_logins=agent_logins,
            may_approve=may_approve,
            team_members=snapshot.team_members,
            head_sha=snapshot.head_sha,
            policy_version=policy_version,
            history=history,
            replaced_plans=replaced_plans(snapshot, config),
        )
    )
    glass = break_glass.decide(config.break_glass, snapshot, agent_logins=agent_logins)
    return Approved(outcome=outcome, break_glass=glass)


def _approver_check(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    proposer: Proposer,
    agent_info: AgentInfo,
    tier: Tier,
    agent_logins: frozenset[str],
) -> MayApprove:
    """Cedar `approve` for one reviewer: agents and bots never count, and each of the run's
    operators is, for their own approval, *the* operator."""
    team_members = snapshot.team_members
    operator = proposer.run.operator

    def may_approve(login: str, is_bot: bool = False) -> tuple[bool, tuple[str, ...]]:
        teams = tuple(t for t, members in team_members.items() if login in members)
        return gate.policy.may_approve(
            login,
            is_bot=is_bot or login.endswith("[bot]") or login in agent_logins,
            pr=ApprovalSubject(
                repo=snapshot.repo,
                author=snapshot.author or "",
                agent_id=agent_info.id or "",
                operator=login if login.lower() in proposer.operators else operator or "",
                tier=tier if isinstance(tier, int) else 99,
                teams=teams,
            ),
        )

    return may_approve


def _tier_at_least(tier: Tier, floor: int) -> bool:
    return tier == "blocked" or (isinstance(tier, int) and tier >= floor)
