"""End to end: a PR that tightens a pricing rule shows, on its own check run, which past merges
would have needed another approval (the real service against the GitHub simulator)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo.stack import LocalStack
from app.store.audit.store import events_for_pr
from tests.service.test_e2e import CATALOG, SETUP, wait_conclusion
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
REPO = "acme/platform"
MEDIUM = 'severity: medium\n    message: "Price of {address} changes: {facts.moves_text}."'


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def evaluations(stack: LocalStack, number: int) -> list[dict[str, object]]:
    events = events_for_pr(stack.runtime.engine, REPO, number, kinds=("evaluation",))  # type: ignore[union-attr]
    return [e.data() for e in events]


def test_a_tightened_pricing_rule_shows_the_merge_that_needed_another_approval(
    stack: LocalStack,
) -> None:
    small = stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        "agent/pro-trim",
        {"catalog/plans.json": CATALOG.replace("49.0", "47.0")},
        title="Trim Pro",
        body="Small promotion.\n\nAgent-Run-Id: run_pricing_7",
    )
    run = wait_conclusion(stack, small, "action_required")
    assert run.title.startswith("Tier 1")  # type: ignore[attr-defined]
    stack.sim.review(small, "alice", "APPROVED")  # the catalog's code owner: one approval
    wait_conclusion(stack, small, "success")
    stack.sim.merge(small, by="bob")
    stack.sim.wait_for(
        lambda: bool(events_for_pr(stack.runtime.engine, REPO, small.number, kinds=("merge",))),  # type: ignore[union-attr]
        20,
        "the merge record",
    )

    rules = (ROOT / "risk_rules" / "pricing.yaml").read_text()
    assert rules.count(MEDIUM) == 1
    tighten = stack.sim.open_pr(
        REPO,
        "carol",
        "tighten-pricing",
        {"risk_rules/pricing.yaml": rules.replace(MEDIUM, MEDIUM.replace("medium", "high"))},
        title="Any price change needs two-person review",
        body="Finance asked for it.",
    )
    run = wait_conclusion(stack, tighten, "success", "action_required", "neutral", "failure")
    summary = run.summary  # type: ignore[attr-defined]
    assert "### Replay over the last 30 days" in summary
    assert "merges whose approvals would no longer suffice: 1" in summary
    line = f"acme/platform#{small.number} (merged)"
    assert line in summary
    assert "tier 1 → 2" in summary and "merged without 2 distinct approvals" in summary
    assert f"/acme/platform/pull/{small.number})" in summary
    assert "| pricing.change | 0 | 0 | 1 |" in summary.replace("\\_", "_")

    # Recorded with the evaluation; the PR's own tier is the governance rules' (unchanged).
    record = evaluations(stack, tighten.number)[-1]
    replay = record["replay"]
    assert replay["edited"] == ["risk_rules/pricing.yaml"]  # type: ignore[index]
    assert replay["merges_approvals_short"] == 1  # type: ignore[index]
    assert [p["pr"] for p in replay["prs"]] == [small.number]  # type: ignore[index]
    report = record["report"]
    assert report["tier"] == 2  # type: ignore[index]
    assert any(f["rule"].startswith("governance.") for f in report["findings"])  # type: ignore[index]


def test_a_pr_that_edits_no_gate_file_has_no_replay(stack: LocalStack) -> None:
    pr = stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        "agent/pro-trim-2",
        {"catalog/plans.json": CATALOG.replace("49.0", "47.0")},
        title="Trim Pro",
        body="Small promotion.\n\nAgent-Run-Id: run_pricing_8",
    )
    run = wait_conclusion(stack, pr, "action_required")
    assert "Replay over" not in run.summary  # type: ignore[attr-defined]
    assert "replay" not in evaluations(stack, pr.number)[-1]
