"""`check_suite`: "Re-run all checks" re-evaluates the suite's PRs (fork PRs found by head SHA)."""

from __future__ import annotations

from app.service.handlers.base import Event, Outcome, evaluate_all


def handle(event: Event) -> Outcome:
    if event.action != "rerequested":
        return "ignored"
    return evaluate_all(event)
