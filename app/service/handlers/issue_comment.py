"""`issue_comment`: a `/break-glass` comment on an open PR (made, edited or deleted) re-evaluates
it; other comments, and comments on issues, are ignored."""

from __future__ import annotations

from app.gate.break_glass import is_command
from app.service.handlers.base import Event, Outcome

COMMENT_ACTIONS = {"created", "edited", "deleted"}


def handle(event: Event) -> Outcome:
    payload = event.payload
    issue, comment = payload.issue, payload.comment
    if payload.action not in COMMENT_ACTIONS or issue is None or comment is None:
        return "ignored"
    if issue.pull_request is None or issue.state != "open":
        return "ignored"
    # An edit may remove the command: the old body counts too.
    bodies = [comment.body, *((payload.changes or {}).get("body") or {}).values()]
    if not any(is_command(str(b)) for b in bodies):
        return "ignored"
    event.evaluate(issue.number)
    return "done"
