"""The proposer stage: who proposed a PR, which agent run produced it, and whose approval is void.

Every identity signal counts, so no single one can launder an agent's change: the PR author, the
head-branch prefix, each commit's linked accounts, its raw `Name <e-mail>` (GitHub answers
`author: null` when the e-mail is linked to no account) and its `Co-authored-by:` trailers. An
agent is recognised by registered login, commit e-mail, commit name or branch prefix, or by a
no-reply e-mail naming a `[bot]` login. A commit whose author or committer is neither linked to an
account nor known to the registry is *unknown*: the PR is enforced (fail closed) unless the repo
sets `unknown_authors: ignore`. Pure: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app.config.agents import Agent, AgentRegistry, login_from_noreply
from app.config.repo import RepoConfig
from app.core.snapshot import GitIdentity, PullRequestSnapshot
from app.gate.trailers import PR_BODY, RUN_ID, RunInfo, collect_run_info

GITHUB_COMMITTER = "web-flow"
"""GitHub's own committer account (web edits, merges, squashes), never a proposer."""
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_URL = re.compile(r"https://[^\s<>()\"'\]]+")


@dataclass(frozen=True)
class Proposer:
    """The outcome of the stage, as the rest of the pipeline needs it."""

    agent: Agent | None
    """The registered agent, when one was recognised."""
    bots: tuple[str, ...]
    """Unregistered `[bot]` logins seen (agents with no grants)."""
    is_agent: bool
    evidence: tuple[str, ...]
    """Why this is an agent change, e.g. `commit abc1234: co-author copilot-swe-agent[bot] …`."""
    unknown: tuple[str, ...]
    """Commits with an author/committer nobody can identify (and why)."""
    enforce_unknown: bool
    run: RunInfo
    operators: tuple[str, ...]
    """Lower-case logins whose approval never counts: the run's operator(s)."""
    problems: tuple[str, ...]
    """What fails the check (missing or conflicting run ID of an agent change)."""

    @property
    def agent_id(self) -> str | None:
        return self.agent.id if self.agent is not None else (self.bots[0] if self.bots else None)


def identify_proposer(
    snapshot: PullRequestSnapshot, registry: AgentRegistry, config: RepoConfig
) -> Proposer:
    """Run the stage over every identity signal of the snapshot."""
    agents: list[Agent] = []
    bots: list[str] = []
    evidence: list[str] = []
    unknown: list[str] = []
    human_co_authors: list[str] = []

    def hit(agent: Agent | None, bot: str | None, why: str) -> bool:
        if agent is not None:
            if agent not in agents:
                agents.append(agent)
            evidence.append(f"{why} is agent {agent.id}")
            return True
        if bot is not None:
            if bot not in bots:
                bots.append(bot)
            evidence.append(f"{why} is the unregistered bot {bot}")
            return True
        return False

    def by_login(login: str, why: str, *, is_bot: bool = False) -> bool:
        agent = registry.agent_for_logins([login])
        bot = login if (is_bot or login.lower().endswith("[bot]")) else None
        return hit(agent, bot, f"{why} {login}")

    def by_identity(ident: GitIdentity, why: str) -> bool:
        agent = registry.agent_for_email(ident.email) or registry.agent_for_name(ident.name)
        login = login_from_noreply(ident.email)
        bot = login if login and login.lower().endswith("[bot]") else None
        if bot is None and ident.name.lower().endswith("[bot]") and login:
            bot = ident.name  # `copilot-swe-agent[bot] <198982749+Copilot@users.noreply…>`
        return hit(agent, bot, f"{why} {ident}")

    if snapshot.author:
        by_login(snapshot.author, "PR author", is_bot=snapshot.author_is_bot)
    if snapshot.head_ref:
        branch_agent = registry.agent_for_branch(snapshot.head_ref)
        hit(branch_agent, None, f"head branch {snapshot.head_ref}")
    for commit in snapshot.commits:
        label = f"commit {commit.sha[:7]}"
        for role, login, ident in (
            ("author", commit.author_login, commit.author),
            ("committer", commit.committer_login, commit.committer),
        ):
            if login == GITHUB_COMMITTER:
                continue
            known = by_login(login, f"{label} {role}") if login else False
            if ident is not None:
                known = by_identity(ident, f"{label} {role}") or known
            if login is None and not known and snapshot.linked_accounts:
                who = str(ident) if ident is not None else "(no identity)"
                unknown.append(
                    f"{label}: {role} {who} is not linked to a GitHub account and is not in "
                    "the agent registry"
                )
        for co in commit.co_authors:
            if not by_identity(co, f"{label} co-author"):
                human_co_authors.extend(_logins_of(co))

    is_agent = bool(agents or bots)
    run = collect_run_info(_sources(snapshot))
    problems: list[str] = []
    if is_agent:
        if run.run_id is None and not run.problems:
            linked = _run_from_links(snapshot, agents)
            if linked is not None:
                run = replace(linked, trace_parent=run.trace_parent, notes=run.notes)
        problems.extend(run.problems)
        automation = bool(agents) and all(a.automation for a in agents) and not bots
        if (
            run.run_id is None
            and not automation
            and not any("Agent-Run-Id" in p for p in run.problems)
        ):
            problems.append(_missing_run_id(bots))
    elif run.run_id or run.trace_parent:
        # A human's PR is not linked to an agent run (or trace) by a trailer anyone can type.
        ignored: tuple[str, ...] = ()
        notes = run.notes
        if run.run_id:
            ignored = (f"Agent-Run-Id {run.run_id!r} ignored: not an agent change",)
        if run.trace_parent:
            notes += ("Agent-Trace-Parent ignored: not an agent change",)
        run = RunInfo(problems=ignored, notes=notes)
    operators: list[str] = [run.operator.lower()] if run.operator else []
    if is_agent:
        # The human co-authoring an agent's commits asked for them (Copilot credits its operator
        # that way): their approval is not independent.
        operators += [o for o in human_co_authors if o not in operators]
    if is_agent and operators and run.operator is None:
        run = replace(run, operator=operators[0])
    return Proposer(
        agent=agents[0] if agents else None,
        bots=tuple(bots),
        is_agent=is_agent,
        evidence=tuple(evidence),
        unknown=tuple(unknown),
        enforce_unknown=bool(unknown) and config.unknown_authors == "enforce",
        run=run,
        operators=tuple(operators),
        problems=tuple(problems),
    )


def _missing_run_id(bots: list[str]) -> str:
    """What to do about an agent change without a run ID, naming the registry entry to add
    when an unregistered bot (often automation such as Renovate) proposed it."""
    text = (
        "agent change without an Agent-Run-Id trailer: add `Agent-Run-Id: <run id>` "
        "as the last paragraph of the PR body or of a commit message"
    )
    if not bots:
        return text
    bot = bots[0]
    name = re.sub(r"[^a-z0-9._-]+", "-", bot.lower().removesuffix("[bot]")).strip("-._")
    entry = f'- {{id: {name or "automation"}, logins: ["{bot}"], automation: true, kinds: [data, text]}}'
    return (
        f"{text}. {bot} is not in policies/agents.yaml; if it is automation that has no agent "
        f"run (a dependency or release bot), declare it under `agents:` there: `{entry}` "
        "(list in `kinds` what it may change)"
    )


def _sources(snapshot: PullRequestSnapshot) -> list[tuple[str, str]]:
    sources = [(PR_BODY, snapshot.body)] if snapshot.body else []
    return sources + [(f"commit {c.sha[:7]}", c.message) for c in snapshot.commits]


def _logins_of(ident: GitIdentity) -> list[str]:
    """Logins a co-author identity may stand for: its no-reply login, and a login-like name."""
    out: list[str] = []
    login = login_from_noreply(ident.email)
    if login:
        out.append(login.lower())
    if _LOGIN.match(ident.name) and ident.name.lower() not in out:
        out.append(ident.name.lower())
    return out


def _run_from_links(snapshot: PullRequestSnapshot, agents: list[Agent]) -> RunInfo | None:
    """The run from a registered session link (`run_links`), when no trailer names it."""
    prefixes = [(prefix, agent) for agent in agents for prefix in agent.run_links]
    if not prefixes:
        return None
    for label, text in _sources(snapshot):
        for url in _URL.findall(text):
            url = url.rstrip(".,;:")
            for prefix, _agent in prefixes:
                if not url.startswith(prefix):
                    continue
                run_id = url[len(prefix) :].strip("/").split("?", 1)[0].split("#", 1)[0]
                if RUN_ID.match(run_id):
                    return RunInfo(run_id=run_id, run_url=url, sources=(label,))
    return None
