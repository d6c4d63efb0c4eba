"""The pure pipeline: snapshot → report. No GitHub, database or HTTP here.

Stages, each fail-closed: repo config (base branch) → semantic diff → who proposed it
(`app.gate.proposer`: agent registry, commit identities, run-ID trailers) → risk rules → tier →
Cedar `propose` → approvals against the tier.
A stage that cannot do its job adds a `problem`, which makes the check fail with that sentence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.agentops.history import AgentHistory
from app.agentops.limits import rate_limit_problem
from app.agentops.ramp import graduation_for
from app.config.agents import Agent
from app.config.allowlists import effective_layers
from app.config.repo import RepoConfig, parse_repo_config
from app.core.errors import ConfigError
from app.core.report import AgentInfo, Graduation, PolicyResult, Report, Tier
from app.core.snapshot import PullRequestSnapshot
from app.gate import break_glass
from app.gate.approvals import ApprovalGate, GateInput, PriorEvaluation
from app.gate.owners import CodeOwnersMap
from app.gate.plan_trust import judge_plans
from app.gate.proposer import identify_proposer
from app.gate.render.markdown import conclusion_for, gate_conclusion
from app.policy import PolicyEngine, summarize
from app.policy.engine import ApprovalSubject
from app.risk import RulePack, evaluate_rules, load_rule_pack, risk_summary, tier_for
from app.risk.allowlist import allowlist_findings
from app.semdiff.destinations.introduced import with_destinations
from app.semdiff.dispatch import analyze_files
from app.semdiff.terraform.plan.merge import merge as merge_plans
from app.semdiff.terraform.plan.merge import plan_changes, plan_status


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
) -> Evaluation:
    """`agent_history` is the proposing agent's audited record (the service reads it from the
    store): without it no rate limit is checked and no tier graduates (fail closed)."""
    problems: list[str] = list(snapshot.problems)
    try:
        config = parse_repo_config(snapshot.config_text)
    except ConfigError as error:
        problems.append(f"invalid repository config: {error}")
        config = RepoConfig()
    changes = analyze_files(snapshot.files, config, snapshot.context_files)
    changed_paths = [p for f in snapshot.files for p in (f.path, f.old_path) if p]
    # Only plans of a workflow the base branch names count; every one of them counts (union).
    judged = judge_plans(snapshot, config)
    plans = plan_status(judged.trusted, changed_paths, config, snapshot.head_sha, judged.ignored)
    if plans is not None and judged.trusted:
        changes = merge_plans(changes, plan_changes(judged.trusted, config))
    changes = with_destinations(changes, snapshot.files)

    proposer = identify_proposer(snapshot, gate.policy.registry, config)
    problems.extend(proposer.problems)
    run = proposer.run
    is_agent = proposer.is_agent
    agent_info = AgentInfo(
        id=proposer.agent_id,
        run_id=run.run_id,
        author=snapshot.author,
        is_agent=is_agent,
        run_url=run.run_url,
        run_cost_usd=run.run_cost_usd,
        operator=run.operator,
        problems=run.problems,
        evidence=proposer.evidence,
        unknown_authors=proposer.unknown,
        trace_parent=run.trace_parent,
        notes=run.notes,
    )

    # Unknown authors are judged like an agent (fail closed) unless the repo says otherwise.
    judged_as_agent = is_agent or proposer.enforce_unknown
    findings = evaluate_rules(gate.rules, changes, is_agent=judged_as_agent, author=snapshot.author)
    agent = gate.policy.registry.get(proposer.agent_id) if is_agent and proposer.agent_id else None
    allowlists = effective_layers(
        config.allowlists, proposer.agent_id, agent.allowlists if agent else None
    )
    findings += allowlist_findings(changes, allowlists)
    risk = risk_summary(findings)
    tier: Tier = tier_for(findings)
    enforced = judged_as_agent or config.enforce_for == "all"
    if is_agent:
        policy = gate.policy.decide_propose(
            proposer.agent_id or snapshot.author or "", snapshot.repo, summarize(changes, findings)
        )
    else:
        policy = PolicyResult(decision="allow", reasons=("not an agent change",))
    if policy.decision != "allow":
        tier = "blocked"
    graduation: Graduation | None = None
    if is_agent and proposer.agent is not None:
        own = (
            agent_history if agent_history and agent_history.agent_id == proposer.agent.id else None
        )
        limited = own and rate_limit_problem(gate.policy.registry.limits_for(proposer.agent), own)
        if limited:
            problems.append(limited)
        graduation = graduation_for(proposer.agent.graduation, tier, findings, changes, own)
        if graduation is not None and graduation.graduated:
            tier = graduation.to_tier
    policy_version = gate.policy_version(snapshot.config_text)

    owners = CodeOwnersMap.parse(snapshot.codeowners, source="CODEOWNERS")
    agent_logins = set(gate.policy.registry.all_logins()) | set(proposer.bots)
    team_members = snapshot.team_members

    def may_approve(login: str, is_bot: bool = False) -> tuple[bool, tuple[str, ...]]:
        teams = tuple(t for t, members in team_members.items() if login in members)
        return gate.policy.may_approve(
            login,
            is_bot=is_bot or login.endswith("[bot]") or login in agent_logins,
            pr=ApprovalSubject(
                repo=snapshot.repo,
                author=snapshot.author or "",
                agent_id=agent_info.id or "",
                # Each of the run's operators is, for their own approval, *the* operator.
                operator=login if login.lower() in proposer.operators else run.operator or "",
                tier=tier if isinstance(tier, int) else 99,
                teams=teams,
            ),
        )

    # Kinds of the files with a tier-2+ finding (linear: a 3,000-resource module must not
    # cost changes × findings comparisons).
    risky_files = {f.file for f in findings if _tier_at_least(f.tier, 2)}
    risky_kinds = tuple(sorted({c.kind for c in changes if c.file in risky_files}))
    outcome = ApprovalGate().evaluate(
        GateInput(
            tier=tier,
            changes=tuple(changes),
            risky_kinds=risky_kinds,
            owners=owners,
            config=config,
            reviews=snapshot.reviews,
            author=snapshot.author or "",
            agent_logins=frozenset(agent_logins),
            may_approve=may_approve,
            team_members=team_members,
            head_sha=snapshot.head_sha,
            policy_version=policy_version,
            history=history or {},
        )
    )
    glass = break_glass.decide(config.break_glass, snapshot, agent_logins=frozenset(agent_logins))
    report = Report(
        changes=tuple(changes),
        findings=tuple(findings),
        risk=risk,
        tier=tier,
        policy=policy,
        approvals=outcome.status,
        agent=agent_info,
        policy_version=policy_version,
        problems=tuple(problems),
        plans=plans,
        graduation=graduation,
        mode=config.mode,
        break_glass=glass,
    )
    return Evaluation(
        report=report,
        config=config,
        enforced=enforced,
        to_request_users=outcome.to_request_users,
        to_request_teams=outcome.to_request_teams,
    )


def proposing_agent(snapshot: PullRequestSnapshot, gate: Gatekeeper) -> Agent | None:
    """The registered agent that proposed this PR (what the service reads the record of)."""
    try:
        config = parse_repo_config(snapshot.config_text)
    except ConfigError:
        config = RepoConfig()
    proposer = identify_proposer(snapshot, gate.policy.registry, config)
    return proposer.agent if proposer.is_agent else None


def _tier_at_least(tier: Tier, floor: int) -> bool:
    return tier == "blocked" or (isinstance(tier, int) and tier >= floor)


def evaluate(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    *,
    history: Mapping[str, PriorEvaluation] | None = None,
    agent_history: AgentHistory | None = None,
) -> Report:
    """The report alone (what `analyze` and `POST /api/analyze` print)."""
    return evaluate_snapshot(snapshot, gate, history=history, agent_history=agent_history).report
