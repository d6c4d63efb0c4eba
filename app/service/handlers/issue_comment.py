"""`issue_comment`: a `/break-glass` comment on an open PR (made, edited or deleted) re-evaluates
it; a new `/countersign waive|unwaive|freeze-exception` comment is answered and, when it did
something, re-evaluates it (`app/service/commands.py`); other comments, and comments on issues,
are ignored."""

from __future__ import annotations

from app.gate import commands as countersign_commands
from app.gate.break_glass import is_command
from app.service import commands
from app.service.handlers.base import Event, Outcome

COMMENT_ACTIONS = {"created", "edited", "deleted"}


def handle(event: Event) -> Outcome:
    payload = event.payload
    issue, comment = payload.issue, payload.comment
    if payload.action not in COMMENT_ACTIONS or issue is None or comment is None:
        return "ignored"
    if issue.pull_request is None or issue.state != "open":
        return "ignored"
    command = countersign_commands.parse_command(comment.body)
    if command is not None:
        if payload.action != "created" or comment.user is None:
            return "ignored"  # a command acts once, when it is made
        user = comment.user
        is_bot = user.type == "Bot"
        return commands.run(event, issue.number, command, user.login, is_bot, comment.id)
    # An edit may remove the command: the old body counts too.
    bodies = [comment.body, *((payload.changes or {}).get("body") or {}).values()]
    if not any(is_command(str(b)) for b in bodies):
        return "ignored"
    event.evaluate(issue.number)
    return "done"
