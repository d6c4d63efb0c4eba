"""The pure pipeline: snapshot → report. No GitHub, database or HTTP here.

Stages, each fail-closed: repo config (base branch) → semantic diff → who proposed it (agent
registry, run-ID trailers) → risk rules → tier → Cedar `propose` → approvals against the tier.
A stage that cannot do its job adds a `problem`, which makes the check fail with that sentence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from app.approvals import ApprovalGate, GateInput, PriorEvaluation
from app.errors import ConfigError
from app.owners import CodeOwnersMap
from app.policy import PolicyEngine, summarize
from app.policy.engine import ApprovalSubject
from app.render import conclusion_for
from app.repo_config import RepoConfig, parse_repo_config
from app.report import AgentInfo, PolicyResult, Report, Tier
from app.risk import RulePack, evaluate_rules, load_rule_pack, risk_summary, tier_for
from app.semdiff.dispatch import analyze_files
from app.snapshot import PullRequestSnapshot
from app.trailers import RunInfo, collect_run_info


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


def _logins(snapshot: PullRequestSnapshot) -> list[str]:
    logins: list[str] = []
    for login in [snapshot.author] + [
        x for c in snapshot.commits for x in (c.author_login, c.committer_login)
    ]:
        if login and login not in logins and login != "web-flow":
            logins.append(login)
    return logins


def evaluate_snapshot(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    *,
    history: Mapping[str, PriorEvaluation] | None = None,
) -> Evaluation:
    problems: list[str] = list(snapshot.problems)
    try:
        config = parse_repo_config(snapshot.config_text)
    except ConfigError as error:
        problems.append(f"invalid repository config: {error}")
        config = RepoConfig()
    changes = analyze_files(snapshot.files, config, snapshot.context_files)

    # Who proposed it: a registered agent login anywhere (author or commits) makes it an agent
    # change, so a human pushing to an agent's branch does not launder it; unregistered bots are
    # agents with no grants.
    logins = _logins(snapshot)
    agent = gate.policy.registry.agent_for_logins(logins)
    bots = [login for login in logins if login.endswith("[bot]")]
    is_agent = agent is not None or bool(bots) or snapshot.author_is_bot
    sources = [("PR body", snapshot.body)] if snapshot.body else []
    sources += [(f"commit {c.sha[:7]}", c.message) for c in snapshot.commits]
    run = collect_run_info(sources)
    if is_agent:
        problems.extend(run.problems)
        if run.run_id is None and not any("Agent-Run-Id" in p for p in run.problems):
            problems.append(
                "agent change without an Agent-Run-Id trailer: add `Agent-Run-Id: <run id>` "
                "as the last paragraph of the PR body or of a commit message"
            )
    if not is_agent and run.run_id:
        # A human's PR is not linked to an agent run by a trailer anyone can type.
        run = RunInfo(problems=(f"Agent-Run-Id {run.run_id!r} ignored: not an agent change",))
    agent_info = AgentInfo(
        id=agent.id if agent is not None else (bots[0] if bots else None),
        run_id=run.run_id,
        author=snapshot.author,
        is_agent=is_agent,
        run_url=run.run_url,
        run_cost_usd=run.run_cost_usd,
        operator=run.operator,
        problems=run.problems,
    )

    findings = evaluate_rules(gate.rules, changes, is_agent=is_agent, author=snapshot.author)
    risk = risk_summary(findings)
    tier: Tier = tier_for(findings)
    enforced = is_agent or config.enforce_for == "all"
    if is_agent:
        proposer = agent.id if agent is not None else (bots[0] if bots else snapshot.author or "")
        policy = gate.policy.decide_propose(proposer, snapshot.repo, summarize(changes, findings))
    else:
        policy = PolicyResult(decision="allow", reasons=("not an agent change",))
    if policy.decision != "allow":
        tier = "blocked"
    policy_version = gate.policy_version(snapshot.config_text)

    owners = CodeOwnersMap.parse(snapshot.codeowners, source="CODEOWNERS")
    agent_logins = set(gate.policy.registry.all_logins()) | set(bots)
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
                operator=run.operator or "",
                tier=tier if isinstance(tier, int) else 99,
                teams=teams,
            ),
        )

    risky_kinds = tuple(
        sorted(
            {
                c.kind
                for c in changes
                for f in findings
                if f.file == c.file and _tier_at_least(f.tier, 2)
            }
        )
    )
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
    )
    return Evaluation(
        report=report,
        config=config,
        enforced=enforced,
        to_request_users=outcome.to_request_users,
        to_request_teams=outcome.to_request_teams,
    )


def _tier_at_least(tier: Tier, floor: int) -> bool:
    return tier == "blocked" or (isinstance(tier, int) and tier >= floor)


def evaluate(
    snapshot: PullRequestSnapshot,
    gate: Gatekeeper,
    *,
    history: Mapping[str, PriorEvaluation] | None = None,
) -> Report:
    """The report alone (what `analyze` and `POST /api/analyze` print)."""
    return evaluate_snapshot(snapshot, gate, history=history).report
