"""Break-glass end to end: the real service against the GitHub simulator.

An SRE on call labels an agent's PR `countersign/break-glass` and comments `/break-glass <reason>`:
the check turns green for that head only, the audit store records who, when and why once, and
the merge is recorded as a bypass that needs post-merge review. Bots, agents, the author and
people outside the team cannot; a push gates the PR again.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.demo.stack import LocalStack
from app.service.break_glass_facts import head_first_seen
from app.sim.state import PullRequest
from app.store.audit.evidence import build_packet
from app.store.audit.store import events_for_pr
from app.store.audit.verify import verify_chain
from tests.service._scenarios import latest_check, wait_check
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

REPO = "acme/platform"
LABEL = "countersign/break-glass"
CATALOG = (
    '{\n  "currency": "USD",\n  "plans": [\n'
    '    {"plan_code": "starter-monthly", "monthly_usd": 9.0},\n'
    '    {"plan_code": "pro-monthly", "monthly_usd": 49.0}\n  ]\n}\n'
)
SETUP: dict[str, Any] = {
    "org": "acme",
    "users": [
        "alice",
        "bob",
        "sam",
        "dave",
        {"login": "pricing-bot[bot]", "type": "Bot"},
        {"login": "sre-bot[bot]", "type": "Bot"},
    ],
    "teams": {"finance": ["alice"], "platform": ["bob"], "sre": ["sam", "sre-bot[bot]"]},
    "repos": {
        REPO: {
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n",
                ".github/countersign.yml": (
                    "enforce_for: all\n"
                    "paths:\n"
                    '  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
                    "approvers:\n"
                    '  pricing: ["@acme/finance"]\n'
                    'break_glass: {team: "@acme/sre"}\n'
                ),
                "catalog/plans.json": CATALOG,
            }
        }
    },
    "install": True,
}
REASON = "INC-4711 checkout is down since the 09:12 price import; roll back the Pro price now"


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def agent_price_cut(stack: LocalStack, branch: str = "agent/pro-cut") -> PullRequest:
    pr = stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        branch,
        {"catalog/plans.json": CATALOG.replace("49.0", "29.4")},
        title="Cut Pro",
        body="Promotion.\n\nAgent-Run-Id: run_glass_1",
    )
    wait_check(stack, pr, "action_required", "Tier 2")
    return pr


def after_head_was_seen(stack: LocalStack, pr: PullRequest) -> None:
    """GitHub stamps label events and comments with whole seconds, and break-glass counts only
    those stamped at or after Countersign first saw the head: act once GitHub's clock is there."""
    assert stack.runtime is not None
    seen = head_first_seen(stack.runtime.engine, REPO, pr.number, pr.head_sha)
    assert seen is not None
    stack.sim.wait_for(
        lambda: stack.sim.now().replace(microsecond=0) >= seen,
        5,
        "GitHub's clock to reach the second after the head was first seen",
    )


def break_glass(stack: LocalStack, pr: PullRequest, who: str, reason: str = REASON) -> None:
    after_head_was_seen(stack, pr)
    stack.sim.add_labels(pr, [LABEL], by=who, via_api=False)
    stack.sim.comment(pr, who, f"/break-glass {reason}")


def glass_events(stack: LocalStack, pr: PullRequest) -> list[dict[str, Any]]:
    assert stack.runtime is not None
    return [
        e.data()
        for e in events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("break_glass",))
    ]


def test_break_glass_turns_the_head_green_records_it_once_and_marks_the_merge(
    stack: LocalStack,
) -> None:
    pr = agent_price_cut(stack)
    after_head_was_seen(stack, pr)
    stack.sim.add_labels(pr, [LABEL], by="sam", via_api=False)
    wait_check(stack, pr, "action_required", "sam added the label but gave no reason")
    stack.sim.comment(pr, "sam", f"/break-glass {REASON}")
    run = wait_check(stack, pr, "success", "Break-glass by sam")
    assert run.title is not None and run.title.startswith("Break-glass by sam · Tier 2 · INC-4711")
    assert f"for head `{pr.head_sha[:7]}` only" in (run.summary or "")

    # Re-run: evaluated again, still green, still one break_glass event.
    stack.sim.rerequest_check(run.id, by="bob")
    stack.wait_processed()
    [event] = glass_events(stack, pr)
    assert event["by"] == "sam" and event["reason"] == REASON
    assert event["head_sha"] == pr.head_sha and event["repo"] == REPO and event["pr"] == pr.number
    assert event["team"] == "@acme/sre" and event["at"].endswith("Z")
    assert event["approvals_missing"]  # what the break-glass skipped

    stack.sim.merge(pr, by="sam")
    assert stack.runtime is not None
    engine = stack.runtime.engine
    stack.sim.wait_for(
        lambda: bool(events_for_pr(engine, REPO, pr.number, kinds=("bypass_merge",))),
        30,
        "the merge record",
    )
    [merge] = events_for_pr(engine, REPO, pr.number, kinds=("bypass_merge", "merge"))
    record = merge.data()
    assert merge.kind == "bypass_merge"
    assert record["check_conclusion"] == "success"
    assert record["bypass"] is True and record["break_glass"] is True
    assert record["post_review"] == "needed"
    packet = build_packet(engine, REPO, pr.number)
    assert packet.bypass is True and packet.merge_kind == "bypass_merge"
    assert packet.break_glass is not None and packet.break_glass.by == "sam"
    assert packet.break_glass.reason == REASON and packet.break_glass.post_review == "needed"
    assert verify_chain(engine).ok


def test_a_push_after_break_glass_gates_the_new_head_again(stack: LocalStack) -> None:
    pr = agent_price_cut(stack)
    break_glass(stack, pr, "sam")
    first = wait_check(stack, pr, "success", "Break-glass by sam")
    stack.sim.push(
        pr,
        {"catalog/plans.json": CATALOG.replace("49.0", "35.0")},
        message="Deeper cut\n\nAgent-Run-Id: run_glass_1",
    )
    run = wait_check(stack, pr, "action_required", "before Countersign saw the head")
    assert run.id != first.id and run.head_sha == pr.head_sha
    assert "present but not honoured" in (run.summary or "")
    assert len(glass_events(stack, pr)) == 1

    # Breaking glass again for the new head: remove and re-add the label, give a reason again.
    stack.sim.remove_label(pr, LABEL, by="sam", via_api=False)
    break_glass(stack, pr, "sam", "INC-4711 the 35.0 price is the rollback target")
    wait_check(stack, pr, "success", "the 35.0 price is the rollback target")
    heads = [e["head_sha"] for e in glass_events(stack, pr)]
    assert heads == [first.head_sha, pr.head_sha]


@pytest.mark.parametrize(
    ("who", "why"),
    [
        ("dave", "dave is not a member of @\u200bacme/sre"),
        ("sre-bot[bot]", "sre-bot\\[bot\\] is a bot"),
    ],
)
def test_non_members_and_bots_cannot_break_glass(stack: LocalStack, who: str, why: str) -> None:
    pr = agent_price_cut(stack)
    break_glass(stack, pr, who)
    run = wait_check(stack, pr, "action_required", why)
    assert "present but not honoured" in (run.summary or "")
    stack.wait_processed()
    assert latest_check(stack, pr).conclusion == "action_required"
    assert glass_events(stack, pr) == []


def test_the_author_cannot_break_glass_on_their_own_pr(stack: LocalStack) -> None:
    """sam is on the SRE team, but this is sam's own change (enforced: `enforce_for: all`)."""
    pr = stack.sim.open_pr(
        REPO,
        "sam",
        "sam/pro-cut",
        {"catalog/plans.json": CATALOG.replace("49.0", "29.4")},
        title="Cut Pro",
    )
    wait_check(stack, pr, "action_required", "Tier 2")
    break_glass(stack, pr, "sam")
    wait_check(stack, pr, "action_required", "sam is the PR author")
    assert glass_events(stack, pr) == []


def test_ordinary_comments_and_our_own_labels_do_not_reevaluate(stack: LocalStack) -> None:
    pr = agent_price_cut(stack)
    stack.wait_processed()
    assert stack.runtime is not None
    engine = stack.runtime.engine
    before = len(events_for_pr(engine, REPO, pr.number, kinds=("evaluation",)))
    assert before == 1  # the App's own tier label (a `labeled` webhook) does not re-evaluate
    assert pr.labels == ["countersign:tier-2"]
    stack.sim.comment(pr, "bob", "LGTM once finance signs off")
    stack.wait_processed()
    assert len(events_for_pr(engine, REPO, pr.number, kinds=("evaluation",))) == before
    comment = stack.sim.comment(pr, "sam", "/break-glass INC-4712 card payments failing")
    stack.wait_processed()  # a /break-glass comment is evaluated (no label yet: nothing changes)
    assert len(events_for_pr(engine, REPO, pr.number, kinds=("evaluation",))) == before + 1
    assert latest_check(stack, pr).conclusion == "action_required"
    stack.sim.delete_comment(comment.id, by="sam")
    stack.wait_processed()
    assert len(events_for_pr(engine, REPO, pr.number, kinds=("evaluation",))) == before + 2


def test_unreadable_team_membership_means_no_break_glass(stack: LocalStack) -> None:
    """Without `members: read` the team cannot be read: the label is reported, nothing opens."""
    pr = agent_price_cut(stack)
    [inst] = stack.sim.world.installations.values()
    stack.sim.set_permissions(
        inst.id, {k: v for k, v in inst.permissions.items() if k != "members"}
    )
    break_glass(stack, pr, "sam")
    run = wait_check(
        stack, pr, "action_required", "the members of @\u200bacme/sre could not be read"
    )
    assert "present but not honoured" in (run.summary or "")
    assert glass_events(stack, pr) == []


def test_removing_the_label_gates_the_pr_again(stack: LocalStack) -> None:
    pr = agent_price_cut(stack)
    break_glass(stack, pr, "sam")
    wait_check(stack, pr, "success", "Break-glass by sam")
    stack.sim.remove_label(pr, LABEL, by="sam", via_api=False)
    run = wait_check(stack, pr, "action_required", "Tier 2")
    assert "Break-glass" not in (run.summary or "")
    assert len(glass_events(stack, pr)) == 1  # what happened stays recorded
