"""What every webhook handler is given, and what it answers.

A handler is a function `Event -> Outcome`: it says what it did (`done` or `ignored`), which the
worker records. Every relevant event re-evaluates the PR's *current* head (fetched fresh), so
stale work for an old head is never published.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from app.github.client import CallLog
from app.github.webhooks import WebhookPayload
from app.runtime.context import Runtime
from app.service.evaluator import PullRequestEvaluator
from app.store.tables import Delivery

Outcome = Literal["done", "ignored"]


@dataclass(frozen=True)
class Event:
    """One parsed delivery, with the runtime and the evaluator a handler acts through."""

    rt: Runtime
    evaluator: PullRequestEvaluator
    delivery: Delivery
    payload: WebhookPayload
    data: Any
    """The decoded JSON (an object for every event GitHub sends)."""

    @property
    def action(self) -> str:
        return self.payload.action or ""

    @property
    def repo(self) -> str:
        """The repository's `owner/name` (repository events only: the dispatcher checks)."""
        assert self.payload.repository is not None
        return self.payload.repository.full_name

    @property
    def installation_id(self) -> int:
        assert self.payload.installation is not None
        return self.payload.installation.id

    def evaluate(self, number: int) -> None:
        """Evaluate PR `number` at its current head, as this delivery (retries count)."""
        self.evaluator.evaluate_pr(
            self.installation_id,
            self.repo,
            number,
            attempt=self.delivery.attempts,
            delivery_id=self.delivery.id,
        )


Handler = Callable[[Event], Outcome]


def evaluate_all(event: Event) -> Outcome:
    """Re-evaluate every PR a check event is about (check runs and suites re-requested)."""
    numbers = event.payload.pr_numbers() or fork_pr_numbers(event)
    for number in numbers:
        event.evaluate(number)
    return "done" if numbers else "ignored"


def fork_pr_numbers(event: Event) -> list[int]:
    """PRs of a check event that names none: GitHub sends `pull_requests: []` for fork PRs.

    Our check run's `external_id` names its PR (see `WebhookPayload.pr_numbers`); a check
    suite has none, so the open PRs whose head is the suite's SHA are looked up (the
    commit→pulls endpoint does not list fork PRs reliably, the open-PR list does).
    """
    sha = event.payload.head_sha()
    if not sha or event.payload.installation is None:
        return []
    client = event.evaluator.client(event.installation_id, CallLog())
    return [
        int(pr["number"])
        for pr in client.open_pulls(event.repo)
        if (pr.get("head") or {}).get("sha") == sha
    ]
