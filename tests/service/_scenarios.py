"""What the comment-driven end-to-end tests share (waivers, freezes, break-glass): waiting for
the effect on the PR (its check, Countersign's reply), never for the sender."""

from __future__ import annotations

import pytest

from app.demo.stack import LocalStack
from app.sim.state import CheckRun, PullRequest

TIMEOUT = 30.0


def latest_check(stack: LocalStack, pr: PullRequest) -> CheckRun:
    """The check run of the PR's head (one must exist)."""
    run = stack.sim.latest_check(pr)
    assert run is not None
    return run


def wait_check(stack: LocalStack, pr: PullRequest, conclusion: str, text: str = "") -> CheckRun:
    """Wait for the effect: the check of the PR's head has this conclusion and says `text`."""

    def done() -> bool:
        run = stack.sim.latest_check(pr)
        return (
            run is not None
            and run.status == "completed"
            and run.conclusion == conclusion
            and text in f"{run.title}\n{run.summary}"
        )

    try:
        stack.sim.wait_for(done, TIMEOUT, f"check {conclusion} saying {text!r}")
    except TimeoutError:
        run = stack.sim.latest_check(pr)
        pytest.fail(f"last check: {run and (run.conclusion, run.title, run.summary)}")
    return latest_check(stack, pr)


def replies(stack: LocalStack, pr: PullRequest, to: str) -> list[str]:
    """Countersign's answers to `to` on the PR, oldest first."""
    prefix = f"Countersign, to @{to}:"
    return [c.body for c in stack.sim.comments_of(pr) if c.body.startswith(prefix)]


def wait_reply(stack: LocalStack, pr: PullRequest, to: str, text: str) -> str:
    """Wait for Countersign's answer to `to` that says `text`; that answer."""
    try:
        stack.sim.wait_for(
            lambda: any(text in b for b in replies(stack, pr, to)),
            TIMEOUT,
            f"a reply saying {text!r}",
        )
    except TimeoutError:
        pytest.fail(f"replies: {replies(stack, pr, to)}")
    return next(b for b in replies(stack, pr, to) if text in b)
