"""`/countersign waive|unwaive|freeze-exception` comments: decide, record, answer, re-evaluate.

The decision is pure (`app.gate.waivers`, `app.gate.freeze`, `app.gate.commands`); here are its
facts: the PR's current head and its latest evaluation (what the commenter saw on the check),
the members of the teams that may act, and the time. Every command is answered with a comment
saying what it did or why it was refused; one that did something is recorded in the audit chain
and the PR is re-evaluated, so the check shows it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.errors import GitHubError, GitHubUnavailable
from app.core.report import Finding, Report
from app.gate.approval_scope import Directory
from app.gate.commands import (
    Asker,
    Command,
    FreezeException,
    Parties,
    Unreadable,
    Unwaive,
    Waive,
    refusal,
)
from app.gate.freeze import judge_exception
from app.gate.waivers import WaiverGrant, judge_waive
from app.github.client import CallLog, InstallationClient
from app.runtime.logging import log
from app.service.handlers.base import Event, Outcome
from app.service.tuning_facts import (
    FREEZE_EXCEPTION,
    WAIVER,
    WAIVER_REVOKED,
    record,
    recorded_grants,
)
from app.store.audit import store


@dataclass(frozen=True)
class Context:
    """What a command is judged on: the PR's head, its latest evaluation, who commented."""

    event: Event
    client: InstallationClient
    number: int
    head_sha: str
    report: Report
    login: str
    is_bot: bool
    comment_id: int | None

    @property
    def parties(self) -> Parties:
        registry = self.event.rt.gate.policy.registry
        agents = frozenset(registry.all_logins())
        if self.report.agent.is_agent and self.report.agent.author:
            agents |= {self.report.agent.author}
        return Parties(
            author=self.report.agent.author or "",
            operator=self.report.agent.operator,
            agent_logins=agents,
        )

    def asker(self, handles: tuple[str, ...]) -> Asker:
        """The commenter, judged against the members of the teams among `handles`, now."""
        directory = self.directory(handles)
        return Asker(self.login, self.is_bot, self.parties, directory, self.event.rt.clock())

    def directory(self, handles: tuple[str, ...]) -> Directory:
        """The members of the teams among `handles`; a team that cannot be read has none
        (nobody acts through it: fail closed). GitHub being down is retried."""
        members: dict[str, tuple[str, ...]] = {}
        for handle in handles:
            if "/" not in handle:
                continue
            team = handle.lstrip("@").lower()
            try:
                members[team] = self.client.team_members(team)
            except GitHubUnavailable:
                raise
            except GitHubError:
                members[team] = ()
        return Directory(members)


def run(
    event: Event, number: int, command: Command, login: str, is_bot: bool, comment_id: int | None
) -> Outcome:
    """Answer one command on PR `number`; re-evaluate when it recorded something. A retried
    delivery of a command already recorded only re-evaluates (recorded and answered once)."""
    client = event.evaluator.client(event.installation_id, CallLog())
    if comment_id is not None and already_recorded(event, number, comment_id):
        event.evaluate(number)
        return "done"
    if isinstance(command, Unreadable):
        reply(client, event.repo, number, login, f"not done: {command.message}")
        return "done"
    pr = client.pull(event.repo, number)
    if pr.get("state") != "open":
        return "ignored"
    head_sha = str(pr["head"]["sha"])
    latest = store.latest_evaluation(event.rt.engine, event.repo, number, head_sha)
    if latest is None:
        reply(
            client,
            event.repo,
            number,
            login,
            f"not done: Countersign has not evaluated head {head_sha[:7]} yet; comment again "
            "once its check is complete",
        )
        return "done"
    try:
        report = Report.model_validate(latest.data().get("report") or {})
    except ValueError:
        reply(client, event.repo, number, login, "not done: the latest evaluation is unreadable")
        return "done"
    ctx = Context(event, client, number, head_sha, report, login, is_bot, comment_id)
    if isinstance(command, Waive):
        answer = _waive(ctx, command)
    elif isinstance(command, Unwaive):
        answer = _unwaive(ctx, command)
    else:
        answer = _freeze_exception(ctx, command)
    done, text = answer
    reply(client, event.repo, number, login, text if done else f"not done: {text}")
    log.info("command.answered", command=type(command).__name__, done=done, by=login)
    if done:
        event.evaluate(number)
    return "done"


def reply(client: InstallationClient, repo: str, number: int, login: str, text: str) -> None:
    """Answer on the PR's conversation (never a command itself: it starts with our name)."""
    client.create_comment(repo, number, f"Countersign, to @{login}: {text}")


def _all_findings(report: Report) -> tuple[Finding, ...]:
    """The head's findings before waivers: those left, and those active waivers took out."""
    return report.findings + tuple(f for w in report.waivers for f in w.findings)


def already_recorded(event: Event, number: int, comment_id: int) -> bool:
    """Whether this comment's command is in the audit chain already (a retried delivery)."""
    kinds = (WAIVER, WAIVER_REVOKED, FREEZE_EXCEPTION)
    events = store.events_for_pr(event.rt.engine, event.repo, number, kinds=kinds)
    return any(e.data().get("comment_id") == comment_id for e in events)


def _record(ctx: Context, kind: str, data: dict[str, object]) -> None:
    record(
        ctx.event.rt.engine,
        kind,
        {**data, "comment_id": ctx.comment_id},
        repo=ctx.event.repo,
        number=ctx.number,
        head_sha=ctx.head_sha,
        agent_id=ctx.report.agent.id,
        run_id=ctx.report.agent.run_id,
    )


def _waive(ctx: Context, command: Waive) -> tuple[bool, str]:
    rule = ctx.event.rt.gate.rules.get(command.rule)
    verdict = judge_waive(
        command,
        ctx.asker(rule.waivable_by if rule else ()),
        rule=rule,
        findings=_all_findings(ctx.report),
        changes=ctx.report.changes,
        head_sha=ctx.head_sha,
    )
    if isinstance(verdict, str):
        return False, verdict
    _record(ctx, WAIVER, verdict.as_data())
    where = f" at `{command.address}`" if command.address else ""
    return True, (
        f"waived `{command.rule}`{where} until {verdict.expires_at} for this content "
        f"({len(verdict.objects)} object(s)); a push that changes them voids the waiver"
    )


def _unwaive(ctx: Context, command: Unwaive) -> tuple[bool, str]:
    engine = ctx.event.rt.engine
    waivers, _ = recorded_grants(engine, ctx.event.repo, ctx.number)
    found: WaiverGrant | None = next(
        (w for w in waivers if (w.rule, w.address) == (command.rule, command.address)), None
    )
    where = f" at `{command.address}`" if command.address else ""
    if found is None:
        return False, f"no waiver of `{command.rule}`{where} is recorded on this PR"
    rule = ctx.event.rt.gate.rules.get(command.rule)
    allowed = rule.waivable_by if rule else ()
    if ctx.login.lower() != found.by.lower():
        why = refusal(ctx.asker(allowed), allowed, "unwaive")
        if why:
            return False, why
    data = {"rule": command.rule, "address": command.address, "by": ctx.login}
    _record(ctx, WAIVER_REVOKED, {**data, "at": ctx.event.rt.clock().isoformat()})
    return True, f"revoked the waiver of `{command.rule}`{where} given by {found.by}"


def _freeze_exception(ctx: Context, command: FreezeException) -> tuple[bool, str]:
    freeze = ctx.report.freeze
    verdict = judge_exception(
        command,
        ctx.asker(freeze.exception_by if freeze else ()),
        freeze=freeze,
        changes=ctx.report.changes,
        head_sha=ctx.head_sha,
    )
    if isinstance(verdict, str):
        return False, verdict
    _record(ctx, FREEZE_EXCEPTION, verdict.as_data())
    return True, (
        f"granted an exception to the freeze `{verdict.freezes[0]}` "
        "for this content; a push that changes what the PR does voids it"
    )
