"""`pull_request`: a new head, an edit or a label change re-evaluates; a close is recorded.

A label change re-evaluates (break-glass), except our own tier labels (no loop). A merge is
recorded once per merge commit (`merged.py`); a close without a merge ends the agent's opening
(its rate-limit count).
"""

from __future__ import annotations

from app.service.evaluator import TIER_LABEL_PREFIX
from app.service.handlers.base import Event, Outcome
from app.service.handlers.merged import record_merge
from app.store.audit import agent_events as agentops

PR_ACTIONS = {"opened", "synchronize", "reopened", "edited", "ready_for_review"}
LABEL_ACTIONS = {"labeled", "unlabeled"}
"""A label change re-evaluates (break-glass), except our own tier labels (no loop)."""


def handle(event: Event) -> Outcome:
    pr = event.payload.pull_request
    if pr is None:
        return "ignored"
    action = event.action
    if action == "closed":
        if pr.merged:
            return record_merge(event)
        closed = agentops.record_closed(
            event.rt.engine,
            repo=event.repo,
            pr=pr.number,
            head_sha=pr.head.sha if pr.head else None,
        )
        return "done" if closed else "ignored"
    label = event.payload.label.name if event.payload.label is not None else ""
    ours = label.startswith(TIER_LABEL_PREFIX)
    wanted = action in PR_ACTIONS or (action in LABEL_ACTIONS and not ours)
    if wanted and pr.state == "open":
        event.evaluate(pr.number)
        return "done"
    return "ignored"
