"""The pure pipeline: snapshot → report. No GitHub, database or HTTP here.

`evaluate_snapshot` runs the named stages in order, each a function of data in, data out:
`read_config` (base branch) → `semantic_changes` → `identify_proposer` (`app.gate.proposer`:
agent registry, commit identities, run-ID trailers) → `assess_findings` (risk rules, allowlists,
tier) → `decide_policy` (Cedar `propose`, rate limit, trust ramp) → `check_approvals` (against
the tier) → the `Report`. Each stage fails closed: one that cannot do its job adds a `problem`,
which makes the check fail with that sentence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.config.agents import Agent
from app.config.allowlists import effective_layers
from app.config.repo import RepoConfig, parse_repo_config
from app.core.errors import ConfigError
from app.core.models import Change
from app.core.report import (
    AgentInfo,
    Finding,
    Graduation,
    PlanStatus,
    PolicyResult,
    Report,
    Risk,
    Tier,
)
from app.core.snapshot import PullRequestSnapshot
from app.gate.approval_stage import check_approvals
from app.gate.approvals import PriorEvaluation
from app.gate.plan_freshness import split_fresh
from app.gate.plan_trust import judge_plans
from app.gate.proposer import Proposer, identify_proposer
from app.gate.render.markdown import conclusion_for, gate_conclusion
from app.gate.tuning import tune
from app.policy import PolicyEngine, summarize
from app.risk import RulePack, evaluate_rules, load_rule_pack, risk_summary, tier_for
from app.risk.allowlist import allowlist_findings
from app.semdiff import analyze_files, merge_plans, plan_changes, plan_status, with_destinations

if TYPE_CHECKING:  # the agent's record is read only for an agent's change (`decide_policy`)
    from app.agentops.history import AgentHistory
    from app.gate.freeze import ExceptionGrant
    from app.gate.waivers import WaiverGrant


@dataclass(frozen=True)
class Gatekeeper:
    """The loaded rule pack and Cedar policies: what stays the same between evaluations."""

    rules: RulePack
    policy: PolicyEngine

    @classmethod
    def load(cls, rules_dir: Path, policies_dir: Path) -> Gatekeeper:
        return cls(
            rules=load_rule_pack(Path(rules_dir)), policy=PolicyEngine.load(Path(policies_dir))
        )

    def policy_version(self, config_text: bytes | None) -> str:
        """Hash of rules + policies + repo config: approvals and audit records bind to it."""
        digest = hashlib.sha256()
        digest.update(self.rules.digest.encode())
        digest.update(self.policy.version.encode())
        digest.update(hashlib.sha256(config_text or b"").hexdigest().encode())
        return digest.hexdigest()


@dataclass(frozen=True)
class Evaluation:
    """The report plus what the service needs to act on it."""

    report: Report
    config: RepoConfig
    enforced: bool
    to_request_users: tuple[str, ...] = ()
    to_request_teams: tuple[str, ...] = ()

    @property
    def conclusion(self) -> str:
        return conclusion_for(self.report, enforced=self.enforced)

    @property
    def observed(self) -> bool:
        """Observe mode: the check is `neutral`; nothing is requested or labelled."""
        return self.report.mode == "observe"

    @property
    def would_conclude(self) -> str:
        """What the gate concludes when enforced (the conclusion itself outside observe mode)."""
        return gate_conclusion(self.report, enforced=self.enforced)


def evaluate_snapshot(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    *,
    history: Mapping[str, PriorEvaluation] | None = None,
    agent_history: AgentHistory | None = None,
    waivers: Sequence[WaiverGrant] = (),
    exceptions: Sequence[ExceptionGrant] = (),
    now: datetime | None = None,
) -> Evaluation:
    """Run the stages in order: config → changes → proposer → findings → policy → approvals →
    report. `agent_history` is the proposing agent's audited record (the service reads it from
    the store): without it no rate limit is checked and no tier graduates (fail closed).
    `waivers` and freeze `exceptions` are the PR's recorded ones; `now` decides expiry and
    freezes (the current time when None)."""
    config, config_problems = read_config(snapshot)
    changes, plans = semantic_changes(snapshot, config)
    proposer = identify_proposer(snapshot, gate.policy.registry, config)
    agent_info = describe_agent(snapshot, proposer)
    assessed = assess_findings(snapshot, gate, config, proposer, changes)
    head = snapshot.head_sha
    tuned = tune(
        assessed.findings, changes, config.freezes, waivers, exceptions, head, now, gate.rules.get
    )
    if tuned.waivers:  # Cedar still judges every finding (`unwaived`); the tier, those left
        assessed = replace(
            assessed,
            findings=tuned.findings,
            risk=tuned.risk,
            tier=tuned.tier,
            unwaived=assessed.findings,
        )
    decided = decide_policy(snapshot, gate, proposer, changes, assessed, agent_history)
    policy_version = gate.policy_version(snapshot.config_text)
    approved = check_approvals(
        snapshot,
        gate,
        config,
        proposer,
        agent_info,
        changes,
        assessed.findings,
        decided.tier,
        policy_version,
        history or {},
    )
    report = Report(
        changes=tuple(changes),
        findings=assessed.findings,
        risk=assessed.risk,
        tier=decided.tier,
        policy=decided.policy,
        approvals=approved.outcome.status,
        agent=agent_info,
        policy_version=policy_version,
        problems=(*snapshot.problems, *config_problems, *proposer.problems, *decided.problems),
        plans=plans,
        graduation=decided.graduation,
        mode=config.mode,
        break_glass=approved.break_glass,
        waivers=tuned.waivers,
        freeze=tuned.freeze,
    )
    return Evaluation(
        report=report,
        config=config,
        enforced=assessed.judged_as_agent or config.enforce_for == "all",
        to_request_users=approved.outcome.to_request_users,
        to_request_teams=approved.outcome.to_request_teams,
    )


def read_config(snapshot: PullRequestSnapshot) -> tuple[RepoConfig, tuple[str, ...]]:
    """Stage 1, config: the base branch's `.github/countersign.yml`. An invalid file is a problem
    (the check fails saying why) and the defaults apply, so the rest still explains itself."""
    try:
        return parse_repo_config(snapshot.config_text), ()
    except ConfigError as error:
        return RepoConfig(), (f"invalid repository config: {error}",)


def semantic_changes(
    snapshot: PullRequestSnapshot, config: RepoConfig
) -> tuple[list[Change], PlanStatus | None]:
    """Stage 2, changes: what the files mean, with the Terraform plans of this head merged in
    (a plan says what the source cannot), and the destinations each change introduces."""
    changes = analyze_files(snapshot.files, config, snapshot.context_files)
    changed_paths = [p for f in snapshot.files for p in (f.path, f.old_path) if p]
    # Only plans of a workflow the base branch names count; every one of them counts (union).
    judged = judge_plans(snapshot, config)
    # A plan made against a base that has since moved in its directory no longer counts.
    fresh = split_fresh(judged.trusted, snapshot)
    plans = plan_status(fresh.fresh, changed_paths, config, snapshot.head_sha, judged.ignored)
    if fresh.reasons and config.terraform.plans != "off":
        status = plans or PlanStatus(mode=config.terraform.plans, head_sha=snapshot.head_sha)
        plans = status.model_copy(update={"stale": fresh.reasons})
    if plans is not None and fresh.fresh:
        changes = merge_plans(changes, plan_changes(fresh.fresh, config))
    return with_destinations(changes, snapshot.files), plans


def describe_agent(snapshot: PullRequestSnapshot, proposer: Proposer) -> AgentInfo:
    """Stage 3, proposer (`identify_proposer`), as the report shows it: who, which run, why."""
    run = proposer.run
    return AgentInfo(
        id=proposer.agent_id,
        run_id=run.run_id,
        author=snapshot.author,
        is_agent=proposer.is_agent,
        run_url=run.run_url,
        run_cost_usd=run.run_cost_usd,
        operator=run.operator,
        problems=run.problems,
        evidence=proposer.evidence,
        unknown_authors=proposer.unknown,
        trace_parent=run.trace_parent,
        notes=run.notes,
    )


@dataclass(frozen=True)
class Assessed:
    """Stage 4's result: the findings, their risk and the tier they alone call for."""

    findings: tuple[Finding, ...]
    risk: Risk
    tier: Tier
    judged_as_agent: bool
    """Held to the agent rules: an agent, or unknown authors the repo enforces for."""
    unwaived: tuple[Finding, ...] | None = None
    """Every finding before waivers (None: none waived): what Cedar `propose` judges."""


def assess_findings(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    config: RepoConfig,
    proposer: Proposer,
    changes: Sequence[Change],
) -> Assessed:
    """Stage 4, findings: the risk rules, then the allowlists (the repository's, and the agent's
    own for an agent change). Unknown authors are judged like an agent (fail closed) unless the
    repo says otherwise."""
    judged_as_agent = proposer.is_agent or proposer.enforce_unknown
    findings = evaluate_rules(gate.rules, changes, is_agent=judged_as_agent, author=snapshot.author)
    agent_id = proposer.agent_id
    agent = gate.policy.registry.get(agent_id) if proposer.is_agent and agent_id else None
    allowlists = effective_layers(config.allowlists, agent_id, agent.allowlists if agent else None)
    findings += allowlist_findings(changes, allowlists)
    return Assessed(
        findings=tuple(findings),
        risk=risk_summary(findings),
        tier=tier_for(findings),
        judged_as_agent=judged_as_agent,
    )


@dataclass(frozen=True)
class Decided:
    """Stage 5's result: Cedar's answer and the tier after it, the ramp and the rate limit."""

    policy: PolicyResult
    tier: Tier
    graduation: Graduation | None
    problems: tuple[str, ...]


def decide_policy(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    proposer: Proposer,
    changes: Sequence[Change],
    assessed: Assessed,
    agent_history: AgentHistory | None,
) -> Decided:
    """Stage 5, policy: may this agent propose this change (Cedar `propose`; a denial blocks),
    then the agent's own record: a rate limit fails the check, the trust ramp may lower the tier.
    Only the record of the agent that proposed the PR counts."""
    tier = assessed.tier
    if proposer.is_agent:
        policy = gate.policy.decide_propose(
            proposer.agent_id or snapshot.author or "",
            snapshot.repo,
            summarize(
                changes, assessed.findings if assessed.unwaived is None else assessed.unwaived
            ),
        )
    else:
        policy = PolicyResult(decision="allow", reasons=("not an agent change",))
    if policy.decision != "allow":
        tier = "blocked"
    graduation: Graduation | None = None
    problems: tuple[str, ...] = ()
    agent = proposer.agent
    if proposer.is_agent and agent is not None:
        # Imported here: a human's change (every local `analyze` without --author) needs neither.
        from app.agentops.limits import rate_limit_problem
        from app.agentops.ramp import graduation_for

        own = agent_history if agent_history and agent_history.agent_id == agent.id else None
        limited = own and rate_limit_problem(gate.policy.registry.limits_for(agent), own)
        if limited:
            problems = (limited,)
        graduation = graduation_for(agent.graduation, tier, assessed.findings, changes, own)
        if graduation is not None and graduation.graduated:
            tier = graduation.to_tier
    return Decided(policy=policy, tier=tier, graduation=graduation, problems=problems)


def proposing_agent(snapshot: PullRequestSnapshot, gate: Gatekeeper) -> Agent | None:
    """The registered agent that proposed this PR (what the service reads the record of)."""
    try:
        config = parse_repo_config(snapshot.config_text)
    except ConfigError:
        config = RepoConfig()
    proposer = identify_proposer(snapshot, gate.policy.registry, config)
    return proposer.agent if proposer.is_agent else None


def evaluate(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    *,
    history: Mapping[str, PriorEvaluation] | None = None,
    agent_history: AgentHistory | None = None,
) -> Report:
    """The report alone (what `analyze` and `POST /api/analyze` print)."""
    return evaluate_snapshot(snapshot, gate, history=history, agent_history=agent_history).report
