"""`pull_request_review`: record the approval or dismissal, then re-evaluate an open PR.

The review is appended to the audit chain once (a redelivered event appends nothing), so the
chain shows who approved what, whether or not the evaluation that follows succeeds.
"""

from __future__ import annotations

from app.service.handlers.base import Event, Outcome
from app.store.audit import store

REVIEW_ACTIONS = {"submitted", "edited", "dismissed"}


def handle(event: Event) -> Outcome:
    pr = event.payload.pull_request
    if event.action not in REVIEW_ACTIONS or pr is None:
        return "ignored"
    record_review(event)
    if pr.state == "open":
        event.evaluate(pr.number)
    return "done"


def record_review(event: Event) -> None:
    """Append an `approval` (or `dismissal`) record, idempotently."""
    review, pr, action = event.payload.review, event.payload.pull_request, event.action
    if review is None or pr is None or review.user is None:
        return
    kind = "dismissal" if action == "dismissed" else "approval"
    key = {"review_id": review.id, "action": action, "state": review.state}
    for recorded in store.events_for_pr(event.rt.engine, event.repo, pr.number, kinds=(kind,)):
        data = recorded.data()
        if all(data.get(k) == v for k, v in key.items()):
            return
    store.append(
        event.rt.engine,
        kind,
        {
            **key,
            "login": review.user.login,
            "user_type": review.user.type,
            "commit": review.commit_id,
            "at": review.submitted_at,
        },
        repo=event.repo,
        pr_number=pr.number,
        head_sha=pr.head.sha if pr.head else None,
    )
