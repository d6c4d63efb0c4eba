"""The webhook event handlers: one module per event, as policy-bot's `server/handler/*.go`.

`EventHandlers.handle` decodes a delivery and looks its event up in `REPOSITORY_EVENTS` (or
`ACCOUNT_EVENTS`, which name no repository); each handler returns what it did ("done" or
"ignored"). Every relevant event re-evaluates the PR's *current* head (fetched fresh), so stale
work for an old head is never published. Merges are recorded once per merge commit, linked to
the agent run.
"""

from __future__ import annotations

import json
from typing import Any

from app.github import checks
from app.github.client import CallLog
from app.github.webhooks import parse_payload
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.service.deploy_gate import reject_given_up
from app.service.evaluator import PullRequestEvaluator
from app.service.handlers import (
    check_run,
    check_suite,
    deployment_protection_rule,
    installation,
    issue_comment,
    merge_group,
    plan,
    pull_request,
    pull_request_review,
    push,
)
from app.service.handlers.base import Event, Handler, Outcome
from app.service.handlers.plan import PLAN_EVENT
from app.store.tables import Delivery

__all__ = ["ACCOUNT_EVENTS", "PLAN_EVENT", "REPOSITORY_EVENTS", "EventHandlers", "Outcome"]

ACCOUNT_EVENTS: dict[str, Handler] = {
    "installation": installation.handle,
    "installation_repositories": installation.handle,
}
"""Events about the App's installation: handled without a repository."""

REPOSITORY_EVENTS: dict[str, Handler] = {
    "pull_request": pull_request.handle,
    "issue_comment": issue_comment.handle,
    "pull_request_review": pull_request_review.handle,
    "check_run": check_run.handle,
    "merge_group": merge_group.handle,
    "check_suite": check_suite.handle,
    "deployment_protection_rule": deployment_protection_rule.handle,
    "push": push.handle,  # a base moved: PRs with plans on it may have stale plans
}
"""Events about one repository of an installation; any other event is ignored."""


class EventHandlers:
    """What the inbox worker calls for each delivery (and when a delivery runs out of tries)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.evaluator = PullRequestEvaluator(rt)

    def handle(self, delivery: Delivery) -> Outcome:
        """Dispatch one delivery to its event's handler. Undecodable payloads, events we do not
        handle, and repository events that name no installation or repository are ignored."""
        try:
            data: Any = json.loads(delivery.payload)
        except ValueError:
            return "ignored"
        if delivery.event == PLAN_EVENT:
            return plan.handle(self.rt, self.evaluator, data)
        payload = parse_payload(data)
        event = Event(self.rt, self.evaluator, delivery, payload, data)
        if delivery.event in ACCOUNT_EVENTS:
            return ACCOUNT_EVENTS[delivery.event](event)
        if payload.installation is None or payload.repository is None:
            return "ignored"
        handler = REPOSITORY_EVENTS.get(delivery.event)
        return handler(event) if handler is not None else "ignored"

    def give_up(self, delivery: Delivery, reason: str) -> None:
        """After the last retry: make the check fail with the reason (best effort)."""
        try:
            payload = parse_payload(json.loads(delivery.payload))
            if payload.installation is None or payload.repository is None:
                return
            if delivery.event == "deployment_protection_rule":  # answer: never left waiting
                data = json.loads(delivery.payload)
                reject_given_up(self.evaluator, payload.installation.id, data, reason)
                return
            repo = payload.repository.full_name
            sha = payload.head_sha()
            if not sha:
                return
            client = self.evaluator.client(payload.installation.id, CallLog())
            body = checks.failure_body(
                reason,
                self.evaluator.details_url(
                    repo, payload.pr_numbers()[0] if payload.pr_numbers() else 0
                ),
            )
            runs = client.check_runs_for(repo, sha, checks.CHECK_NAME)
            if runs:
                client.update_check_run(repo, int(runs[0]["id"]), body)
            else:
                client.create_check_run(repo, {"name": checks.CHECK_NAME, "head_sha": sha, **body})
        except Exception as error:
            log.warning("give_up.check_not_updated", error=str(error)[:300])
