"""Break-glass: a member of the configured team turns the check green for one head, with a reason.

The rule (README, "Break-glass"): the break-glass label (default `countersign/break-glass`) is on
the PR, the **last** person who added it is a member of `break_glass.team`, is neither a bot, a
registered agent nor the PR author, and the same person wrote a comment starting
`/break-glass <reason>`. Both the label and the comment must be newer than the moment Countersign
first saw the current head (GitHub's whole-second times at or after Countersign's exact one): a
push makes a new head, so it voids an earlier break-glass (remove and re-add the label, and
comment again). When anything cannot be established (the label's
events cannot be read, team membership is unknown) nobody has broken glass: fail closed.

Pure: the facts come in the snapshot (`Conversation`), the verdict goes into the report.
"""

from __future__ import annotations

import re
from datetime import datetime

from app.config.repo import BreakGlassConfig
from app.core.redact import mask_url_passwords
from app.core.report import BreakGlass
from app.core.snapshot import LabelEvent, PrComment, PullRequestSnapshot

COMMAND = "/break-glass"
REASON_LIMIT = 500
_COMMAND = re.compile(r"^\s*/break-glass(?:[ \t]+(?P<reason>\S[\s\S]*))?$")


def is_command(body: str) -> bool:
    """Whether a comment is a `/break-glass` command (with or without a reason)."""
    return _COMMAND.match(body) is not None


def parse_reason(body: str) -> str | None:
    """The reason of a `/break-glass <reason>` comment (whitespace collapsed), or None."""
    match = _COMMAND.match(body)
    if match is None or not match.group("reason"):
        return None
    reason = " ".join(match.group("reason").split())
    if len(reason) > REASON_LIMIT:
        reason = reason[: REASON_LIMIT - 1] + "…"
    return mask_url_passwords(reason)


def _is_bot(login: str, flagged: bool) -> bool:
    return flagged or login.lower().endswith("[bot]")


def _adder(events: tuple[LabelEvent, ...], label: str) -> LabelEvent | None:
    """The `labeled` event that put the label on the PR as it is now (the last one)."""
    last = None
    for event in events:
        if event.label.lower() == label.lower():
            last = event
    return last if last is not None and last.event == "labeled" else None


def _reason_comment(
    comments: tuple[PrComment, ...], login: str, since: datetime
) -> tuple[PrComment, str] | None:
    """The newest `/break-glass <reason>` comment by `login` made at or after `since`."""
    found = None
    for comment in comments:
        if comment.author.lower() != login.lower() or _is_bot(
            comment.author, comment.author_is_bot
        ):
            continue
        reason = parse_reason(comment.body)
        if reason is not None and comment.at >= since:
            found = (comment, reason)
    return found


def decide(
    config: BreakGlassConfig, snapshot: PullRequestSnapshot, *, agent_logins: frozenset[str]
) -> BreakGlass | None:
    """The break-glass verdict for the snapshot's head; None when the label is not on the PR."""
    label = config.label
    if not any(name.lower() == label.lower() for name in snapshot.labels):
        return None
    head = snapshot.head_sha

    def refused(why: str, by: str | None = None) -> BreakGlass:
        return BreakGlass(label=label, active=False, head_sha=head, by=by, refused=(why,))

    if config.team is None or config.team_key is None:
        return refused(
            "break-glass is not enabled for this repository (set `break_glass.team` in "
            ".github/countersign.yml on the base branch)"
        )
    conversation = snapshot.conversation
    if conversation is None or conversation.error:
        detail = f": {conversation.error}" if conversation and conversation.error else ""
        return refused(f"who added the label `{label}` cannot be established{detail}")
    event = _adder(conversation.label_events, label)
    if event is None:
        return refused(f"no `labeled` event of `{label}` is listed: who added it is unknown")
    who = event.actor
    if not who:
        return refused(f"GitHub names no actor for the last `labeled` event of `{label}`")
    lowered = {login.lower() for login in agent_logins}
    if _is_bot(who, event.actor_is_bot):
        return refused(f"{who} is a bot: bots can never break glass", who)
    if who.lower() in lowered:
        return refused(f"{who} is a registered agent: agents can never break glass", who)
    if snapshot.author and who.lower() == snapshot.author.lower():
        return refused(f"{who} is the PR author: the author can never break glass", who)
    members = snapshot.team_members.get(config.team_key)
    if members is None:
        return refused(f"the members of {config.team} could not be read", who)
    if who.lower() not in {m.lower() for m in members}:
        return refused(f"{who} is not a member of {config.team}", who)
    first_seen = conversation.head_first_seen
    # GitHub's times are cut to the second and ours are not: `at >= first_seen` holds only for a
    # label (and comment) made after Countersign saw the head, never one in the same second as
    # a push (it could belong to the previous head). Fail closed: such a label is refused.
    if first_seen is None or event.at < first_seen:
        return refused(
            f"{who} added the label before Countersign saw the head {head[:7]} (a push voids "
            "break-glass): remove and re-add the label, then comment `/break-glass <reason>`",
            who,
        )
    found = _reason_comment(conversation.comments, who, first_seen)
    if found is None:
        return refused(
            f"{who} added the label but gave no reason for the head {head[:7]}: comment "
            "`/break-glass <reason>` (required)",
            who,
        )
    comment, reason = found
    at = max(event.at, comment.at)
    return BreakGlass(
        label=label,
        active=True,
        head_sha=head,
        by=who,
        at=at.isoformat().replace("+00:00", "Z"),
        reason=reason,
        comment_url=comment.url or None,
        team=config.team,
    )
