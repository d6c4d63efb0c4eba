"""`/countersign …` comment commands: what they say, and who may give them.

    /countersign waive <rule-id> [<address>] reason: <text> [expires: 7d | 2026-12-31]
    /countersign unwaive <rule-id> [<address>]
    /countersign freeze-exception reason: <text>

Pure: parsing, and the refusals every command shares (bots, registered agents, the PR author and
the run's operator can never waive or grant an exception; only members of the named teams can).
A command that cannot be read is answered with its usage, never guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.config.freezes import parse_duration
from app.core.redact import mask_url_passwords
from app.gate.approval_scope import Directory

PREFIX = "/countersign"
REASON_LIMIT = 500
DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=90)
USAGE = {
    "waive": "`/countersign waive <rule-id> [<address>] reason: <text> [expires: 7d]`",
    "unwaive": "`/countersign unwaive <rule-id> [<address>]`",
    "freeze-exception": "`/countersign freeze-exception reason: <text>`",
}
_HEAD = re.compile(r"^\s*/countersign[ \t]+(?P<verb>[a-z-]+)(?P<rest>[\s\S]*)$")
_TARGET = re.compile(r"^[ \t]+(?P<rule>[a-z0-9][\w.-]*)(?:[ \t]+(?P<address>(?!reason:)\S+))?")
_REASON = re.compile(r"^\s*reason:[ \t]*(?P<reason>[\s\S]*?)(?:\s+expires:[ \t]*(?P<exp>\S+))?\s*$")


@dataclass(frozen=True)
class Waive:
    rule: str
    address: str | None
    reason: str
    expires: str | None
    """As written: `7d` (from now) or an ISO date/time; None is the default (7 days)."""


@dataclass(frozen=True)
class Unwaive:
    rule: str
    address: str | None


@dataclass(frozen=True)
class FreezeException:
    reason: str


@dataclass(frozen=True)
class Unreadable:
    """A `/countersign …` comment that is not a command we can read: answer with the usage."""

    message: str


Command = Waive | Unwaive | FreezeException | Unreadable


def is_command(body: str) -> bool:
    """Whether a comment is addressed to Countersign (`/countersign …`)."""
    return _HEAD.match(body) is not None


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if len(reason) > REASON_LIMIT:
        reason = reason[: REASON_LIMIT - 1] + "…"
    return mask_url_passwords(reason)


def parse_command(body: str) -> Command | None:
    """The command a comment gives; None when it is not addressed to Countersign."""
    head = _HEAD.match(body)
    if head is None:
        return None
    verb, rest = head.group("verb"), head.group("rest")
    if verb not in USAGE:
        return Unreadable(f"unknown command `{verb}`: use one of " + ", ".join(USAGE.values()))
    usage = Unreadable(f"cannot read the command; write {USAGE[verb]}")
    if verb == "freeze-exception":
        found = _REASON.match(rest)
        if found is None or found.group("exp") or not found.group("reason").strip():
            return usage
        return FreezeException(_reason(found.group("reason")))
    target = _TARGET.match(rest)
    if target is None:
        return usage
    rule, address = target.group("rule"), target.group("address")
    tail = rest[target.end() :]
    if verb == "unwaive":
        return Unwaive(rule, address) if not tail.strip() else usage
    found = _REASON.match(tail)
    if found is None or not found.group("reason").strip():
        return Unreadable(f"a waiver needs a reason; write {USAGE['waive']}")
    return Waive(rule, address, _reason(found.group("reason")), found.group("exp"))


def expiry(written: str | None, now: datetime) -> datetime | str:
    """When a waiver written `expires: …` ends, or why it cannot be given (past, too far)."""
    if written is None:
        return now + DEFAULT_EXPIRY
    try:
        end = now + parse_duration(written)
    except ValueError:
        try:
            end = datetime.fromisoformat(written.replace("Z", "+00:00"))
        except ValueError:
            return f"`expires: {written}` is neither a duration (7d, 12h) nor an ISO date"
        if end.utcoffset() is None:
            end = end.replace(tzinfo=now.tzinfo)
    if end <= now:
        return f"`expires: {written}` has already expired: give a moment in the future"
    if end - now > MAX_EXPIRY:
        return f"`expires: {written}` is more than 90 days away: waivers are for at most 90d"
    return end


@dataclass(frozen=True)
class Parties:
    """Who a PR belongs to: these may never waive or lift its gate."""

    author: str
    operator: str | None
    agent_logins: frozenset[str]


@dataclass(frozen=True)
class Asker:
    """Who gives a command, and when: what every judge of a command checks (`refusal`).
    `directory` holds the members of the teams that may give it."""

    login: str
    is_bot: bool
    parties: Parties
    directory: Directory
    now: datetime


def refusal(asker: Asker, allowed: tuple[str, ...], what: str) -> str | None:
    """Why `asker` may not `what` (e.g. "waive pricing.large-change"), or None when they may."""
    login, parties = asker.login, asker.parties
    who = login.lower()
    if asker.is_bot or who.endswith("[bot]"):
        return f"{login} is a bot: bots can never {what}"
    if who in {a.lower() for a in parties.agent_logins}:
        return f"{login} is a registered agent: agents can never {what}"
    if parties.author and who == parties.author.lower():
        return f"{login} is the PR author: the author can never {what}"
    if parties.operator and who == parties.operator.lower():
        return f"{login} is the operator of the agent run: the operator can never {what}"
    if not allowed:
        return f"nobody may {what}"
    if not asker.directory.any_match(login, allowed):
        return f"{login} is not a member of {', '.join(allowed)}, who may {what}"
    return None
