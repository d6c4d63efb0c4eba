"""Change freezes end to end, on SQLite and PostgreSQL, with an injected clock (never a sleep).

During the `holidays` window an agent's PR waits (`action_required`, "Frozen until …"); a release
manager's `/countersign freeze-exception reason: …` lets it through for that content only (a push
that changes what it does freezes it again); nobody else may grant one. When the window ends the
sweep re-evaluates the PR and the check turns green by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.service.reconcile import sweep_open_prs
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.service._scenarios import wait_check, wait_reply
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

REPO = "acme/platform"
IN_WINDOW = datetime(2030, 12, 24, 12, 0, tzinfo=UTC)
AFTER = datetime(2031, 1, 2, 0, 1, tzinfo=UTC)
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["bob", "rita", "dave", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["bob"], "release": ["rita"]},
    "repos": {
        REPO: {
            "files": {
                "README.md": "# platform\n",
                "docs/guide.md": "# Guide\n",
                ".github/CODEOWNERS": "* @acme/platform\n",
                ".github/countersign.yml": (
                    "enforce_for: all\n"
                    "freezes:\n"
                    "  - name: holidays\n"
                    '    start: "2030-12-20T00:00Z"\n'
                    '    end: "2031-01-02T00:00Z"\n'
                    '    exception_by: ["@acme/release"]\n'
                ),
            }
        }
    },
    "install": True,
}
FROZEN = "Frozen until 2031-01-02T00:00:00Z (holidays)"


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    stack = fresh(running, SETUP)  # a reset builds a new runtime: inject the clock after it
    assert stack.runtime is not None
    stack.runtime.clock = lambda: IN_WINDOW
    return stack


def docs_pr(
    stack: LocalStack, author: str = "docs-bot[bot]", body: str = "Agent-Run-Id: run_freeze_1"
) -> PullRequest:
    pr = stack.sim.open_pr(
        REPO,
        author,
        "agent/guide",
        {"docs/guide.md": "# Guide\n\nHow to deploy.\n"},
        title="Guide",
        body=body,
    )
    run = wait_check(stack, pr, "action_required", FROZEN)
    assert run.title == FROZEN
    return pr


def exceptions(stack: LocalStack, pr: PullRequest) -> list[dict[str, Any]]:
    assert stack.runtime is not None
    engine = stack.runtime.engine
    return [e.data() for e in events_for_pr(engine, REPO, pr.number, kinds=("freeze_exception",))]


def test_a_frozen_pr_waits_and_an_exception_lets_this_content_through(stack: LocalStack) -> None:
    pr = docs_pr(stack)
    stack.sim.comment(pr, "rita", "/countersign freeze-exception reason: INC-7 runbook fix")
    wait_reply(stack, pr, "rita", "granted an exception to the freeze `holidays`")
    run = wait_check(stack, pr, "success", "exception granted by rita: INC-7 runbook fix")
    assert run.title == "Tier 0 · info"
    [event] = exceptions(stack, pr)
    assert event["by"] == "rita" and event["head_sha"] == pr.head_sha
    assert event["freezes"] == ["holidays"] and event["pr"] == pr.number

    # A push that changes what the PR does freezes it again. (A plain-text file's semantic change
    # is its line counts, so the push adds lines: a same-size text edit is not seen; see
    # docs/tuning.md.)
    stack.sim.push(
        pr, {"docs/guide.md": "# Guide\n\nHow to deploy.\n\nOn Fridays too.\n"}, message="More"
    )
    run = wait_check(stack, pr, "action_required", "the changes differ since")
    assert run.title == FROZEN


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("dave", "dave is not a member of @acme/release"),
        ("docs-bot[bot]", "is a bot"),
    ],
)
def test_non_members_and_agents_cannot_grant_an_exception(
    stack: LocalStack, who: str, why: str
) -> None:
    pr = docs_pr(stack)
    stack.sim.comment(pr, who, "/countersign freeze-exception reason: please")
    wait_reply(stack, pr, who, why)
    stack.wait_processed()
    assert exceptions(stack, pr) == []
    run = stack.sim.latest_check(pr)
    assert run is not None and run.title == FROZEN


@pytest.mark.parametrize(
    ("author", "body", "why"),
    [
        ("rita", "", "rita is the PR author: the author can never grant"),
        (
            "docs-bot[bot]",
            "Agent-Run-Id: run_freeze_2\nAgent-Run-Operator: @rita",
            "rita is the operator of the agent run: the operator can never grant",
        ),
    ],
)
def test_the_author_and_the_operator_cannot_grant_an_exception(
    stack: LocalStack, author: str, body: str, why: str
) -> None:
    """rita is a release manager, but this is her own change, or her agent's run."""
    pr = docs_pr(stack, author, body)
    stack.sim.comment(pr, "rita", "/countersign freeze-exception reason: mine")
    wait_reply(stack, pr, "rita", why)
    assert exceptions(stack, pr) == []


def test_the_sweep_clears_the_check_when_the_window_ends(stack: LocalStack) -> None:
    pr = docs_pr(stack)
    runtime = stack.runtime
    assert runtime is not None
    assert sweep_open_prs(runtime) == []  # still frozen: nothing to look at again
    runtime.clock = lambda: AFTER
    assert sweep_open_prs(runtime) == [f"{REPO}#{pr.number}"]
    run = wait_check(stack, pr, "success")
    assert run.title == "Tier 0 · info"
    stack.wait_processed()
    assert sweep_open_prs(runtime) == []

    # After the window there is nothing to except.
    stack.sim.comment(pr, "rita", "/countersign freeze-exception reason: late")
    wait_reply(stack, pr, "rita", "nothing to except")


def test_a_merge_under_an_exception_records_it(stack: LocalStack) -> None:
    pr = docs_pr(stack)
    stack.sim.comment(pr, "rita", "/countersign freeze-exception reason: INC-7 runbook fix")
    wait_check(stack, pr, "success", "exception granted by rita")
    stack.sim.merge(pr, by="bob")
    assert stack.runtime is not None
    engine = stack.runtime.engine
    stack.sim.wait_for(
        lambda: bool(events_for_pr(engine, REPO, pr.number, kinds=("merge", "bypass_merge"))),
        30,
        "the merge record",
    )
    [merge] = events_for_pr(engine, REPO, pr.number, kinds=("merge", "bypass_merge"))
    assert merge.kind == "merge"
    assert merge.data()["freeze_exception"] == "rita: INC-7 runbook fix"
