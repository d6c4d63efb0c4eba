"""Every event the App handles, end to end: the real service against the GitHub simulator.

Where the simulator has no user-level operation for an event (reopen, ready for review, check
suite re-run), the test sends the webhook GitHub would send, built and signed by the simulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.service.evaluator import ANNOTATIONS_SENT
from app.sim import webhooks
from app.sim.state import PullRequest
from app.store.audit import store
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
PRICES = (
    '[\n  {"sku": "pro-monthly", "price": 49.0},\n  {"sku": "team-monthly", "price": 99.0}\n]\n'
)
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": ["alice", "bob", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"]},
    "repos": {
        REPO: {
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n",
                "app.cfg": "a=1\n",
                "catalog/prices.json": PRICES,
            }
        }
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def evaluations(stack: LocalStack, pr: PullRequest) -> list[dict[str, Any]]:
    assert stack.runtime is not None
    return [
        e.data()
        for e in events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
    ]


def wait_evaluations(stack: LocalStack, pr: PullRequest, count: int) -> list[dict[str, Any]]:
    stack.sim.wait_for(lambda: len(evaluations(stack, pr)) >= count, 20, f"{count} evaluations")
    return evaluations(stack, pr)


def wait_completed(stack: LocalStack, run_id: int) -> None:
    """GitHub offers Re-run and action buttons only on a completed check run."""
    stack.sim.wait_for(
        lambda: stack.sim.world.check_runs[run_id].status == "completed", 20, "check completed"
    )


def open_docs_pr(stack: LocalStack, body: str = "Docs.\n\nAgent-Run-Id: run_a") -> PullRequest:
    return stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nmore\n"},
        title="Docs",
        body=body,
    )


def open_text_pr(stack: LocalStack) -> PullRequest:
    """A tier-1 change (a config file nobody classified): needs one code-owner approval."""
    return stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/cfg",
        {"app.cfg": "a=2\n"},
        title="Cfg",
        body="x\n\nAgent-Run-Id: run_cfg",
    )


def test_opened_and_synchronize_evaluate_each_head(stack: LocalStack) -> None:
    pr = open_docs_pr(stack)
    first = wait_evaluations(stack, pr, 1)[-1]
    stack.sim.push(
        pr, {"README.md": "# platform\nmore words\n"}, message="more\n\nAgent-Run-Id: run_a"
    )
    second = wait_evaluations(stack, pr, 2)[-1]
    assert first["head_sha"] != second["head_sha"]
    # One check run per head SHA.
    assert len(stack.sim.check_runs_for(REPO, second["head_sha"])) == 1
    assert len(stack.sim.check_runs_for(REPO, first["head_sha"])) == 1


def test_edited_body_changes_the_recorded_run_id(stack: LocalStack) -> None:
    pr = open_docs_pr(stack)
    wait_evaluations(stack, pr, 1)
    stack.sim.edit_pr(pr, body="Docs.\n\nAgent-Run-Id: run_b", by="docs-bot[bot]")
    last = wait_evaluations(stack, pr, 2)[-1]
    assert last["report"]["agent"]["run_id"] == "run_b"


def test_reopened_and_ready_for_review_reevaluate(stack: LocalStack) -> None:
    pr = open_docs_pr(stack)
    wait_evaluations(stack, pr, 1)
    for action in ("reopened", "ready_for_review"):
        stack.sim.sender.submit(
            [webhooks.pull_request_event(stack.sim.world, pr, action, "docs-bot[bot]")]
        )
    assert len(wait_evaluations(stack, pr, 3)) == 3


def test_review_submitted_and_dismissed(stack: LocalStack) -> None:
    pr = open_text_pr(stack)
    wait_evaluations(stack, pr, 1)
    review = stack.sim.review(pr, "alice", "APPROVED")
    stack.sim.wait_for(
        lambda: (stack.sim.latest_check(pr) or object()).__dict__.get("conclusion") == "success",
        20,
        "green",
    )
    stack.sim.dismiss_review(review.id, by="bob")
    stack.sim.wait_for(
        lambda: (
            (stack.sim.latest_check(pr) or object()).__dict__.get("conclusion") == "action_required"
        ),
        20,
        "back to waiting after the dismissal",
    )
    assert stack.runtime is not None
    kinds = [e.kind for e in events_for_pr(stack.runtime.engine, REPO, pr.number)]
    assert "approval" in kinds and "dismissal" in kinds


def test_rerequest_and_reevaluate_button(stack: LocalStack) -> None:
    pr = open_docs_pr(stack)
    wait_evaluations(stack, pr, 1)
    run = stack.sim.latest_check(pr)
    assert run is not None
    wait_completed(stack, run.id)
    stack.sim.rerequest_check(run.id, by="alice")
    wait_evaluations(stack, pr, 2)
    wait_completed(stack, run.id)
    stack.sim.requested_action(run.id, "reevaluate", by="alice")
    wait_evaluations(stack, pr, 3)
    wait_completed(stack, run.id)
    # Another App's check run being re-requested is not ours to evaluate.
    other = webhooks.check_run_event(stack.sim.world, run, "rerequested", "alice")
    other.payload["check_run"]["name"] = "someone-else"
    stack.sim.sender.submit([other])
    stack.wait_processed()  # the App handled (and ignored) it: only now is "no 4th" meaningful
    assert len(evaluations(stack, pr)) == 3


def test_check_suite_rerequested(stack: LocalStack) -> None:
    pr = open_docs_pr(stack)
    wait_evaluations(stack, pr, 1)
    run = stack.sim.latest_check(pr)
    assert run is not None
    stack.sim.sender.submit(
        [webhooks.check_suite_event(stack.sim.world, run, "rerequested", "alice")]
    )
    wait_evaluations(stack, pr, 2)


def test_installation_is_recorded_and_redelivery_is_not_processed_twice(stack: LocalStack) -> None:
    assert stack.runtime is not None
    from sqlmodel import Session, select

    from app.store.tables import AuditEvent

    engine = stack.runtime.engine

    def installs() -> list[AuditEvent]:
        with Session(engine) as session:
            return list(
                session.exec(select(AuditEvent).where(AuditEvent.kind == "installation")).all()
            )

    # The simulator having *sent* the installation webhook says nothing about the App having
    # recorded it (the App answers once the delivery is stored): wait for the record itself.
    stack.sim.wait_for(lambda: bool(installs()), 20, "the installation audit record")
    assert json.loads(installs()[0].payload)["account"] == "acme"
    pr = open_docs_pr(stack)
    wait_evaluations(stack, pr, 1)
    delivery = next(d for d in stack.sim.deliveries if d.event == "pull_request")
    stack.sim.redeliver(delivery.id)
    stack.wait_processed()
    redelivered = [d for d in stack.sim.deliveries if d.redelivery and d.guid == delivery.guid]
    assert [d.status_code for d in redelivered] == [200]  # acknowledged as a duplicate
    assert len(evaluations(stack, pr)) == 1


def test_reevaluating_a_head_shows_each_annotation_once(stack: LocalStack) -> None:
    """GitHub appends annotations on every check-run update (the simulator too): re-evaluations
    of the same head (Re-evaluate, Re-run, a review) must not repeat them."""
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/price",
        {"catalog/prices.json": PRICES.replace("49.0", "4.9")},
        title="Cut Pro",
        body="x\n\nAgent-Run-Id: run_price",
    )
    wait_evaluations(stack, pr, 1)
    stack.wait_processed()  # recorded first, published next: wait for the check itself
    run = stack.sim.latest_check(pr)
    assert run is not None
    first = [dict(a) for a in run.annotations]
    assert first, "a 90 % price cut carries a line annotation"
    stack.sim.requested_action(run.id, "reevaluate", by="alice")
    wait_evaluations(stack, pr, 2)
    stack.sim.rerequest_check(run.id, by="alice")
    wait_evaluations(stack, pr, 3)
    stack.sim.review(pr, "bob", "COMMENTED")
    stack.wait_processed()
    runs = stack.sim.check_runs_for(REPO, pr.head_sha)
    assert [r.id for r in runs] == [run.id]  # same set, same check run
    after = stack.sim.check_run(REPO, run.id).annotations
    assert after == first
    keys = [json.dumps(a, sort_keys=True) for a in after]
    assert len(keys) == len(set(keys))


def test_a_changed_annotation_set_gets_a_fresh_check_run(stack: LocalStack) -> None:
    """GitHub cannot remove annotations: when the set for a head changes (e.g. an earlier rule
    pack annotated this run differently), the App opens a new check run rather than adding the
    new set on top of the old one."""
    assert stack.runtime is not None
    pr = open_text_pr(stack)
    wait_evaluations(stack, pr, 1)
    stack.wait_processed()
    old = stack.sim.latest_check(pr)
    assert old is not None
    # This check run carries another set (as an earlier rule pack would have left it).
    store.append(
        stack.runtime.engine,
        ANNOTATIONS_SENT,
        {"check_run_id": old.id, "digest": "0" * 64, "count": 1},
        repo=REPO,
        pr_number=pr.number,
        head_sha=pr.head_sha,
    )
    stack.sim.requested_action(old.id, "reevaluate", by="alice")
    wait_evaluations(stack, pr, 2)
    stack.wait_processed()
    runs = stack.sim.check_runs_for(REPO, pr.head_sha)
    assert len(runs) == 2
    new = stack.sim.latest_check(pr)
    assert new is not None and new.id != old.id and new.status == "completed"
    assert evaluations(stack, pr)[-1]["check_run_id"] == new.id
    # The next re-evaluation stays on the new run.
    stack.sim.requested_action(new.id, "reevaluate", by="alice")
    wait_evaluations(stack, pr, 3)
    stack.wait_processed()
    assert len(stack.sim.check_runs_for(REPO, pr.head_sha)) == 2
