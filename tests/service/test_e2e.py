"""End to end: the real service (uvicorn on loopback) against the GitHub simulator over HTTP.

Each test drives GitHub the way users do (agents open PRs, reviewers approve, admins merge) and
asserts what users see: check-run conclusions and titles, review requests, the audit trail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.demo.stack import LocalStack
from app.store.audit.export import export_merges
from app.store.audit.store import events_for_pr
from app.store.audit.verify import verify_chain
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

CATALOG = """{
  "currency": "USD",
  "plans": [
    {"plan_code": "starter-monthly", "monthly_usd": 9.0},
    {"plan_code": "pro-monthly", "monthly_usd": 49.0}
  ]
}
"""
SETUP = {
    "org": "acme",
    "users": [
        "alice",
        "bob",
        "carol",
        "dave",
        {"login": "infra-bot[bot]", "type": "Bot"},
        {"login": "pricing-bot[bot]", "type": "Bot"},
        {"login": "docs-bot[bot]", "type": "Bot"},
    ],
    "teams": {"finance": ["alice"], "platform": ["bob"], "security": ["carol"]},
    "repos": {
        "acme/platform": {
            "admins": ["carol"],
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n/.github/ @acme/security\n",
                ".github/countersign.yml": (
                    "paths:\n"
                    '  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
                    "approvers:\n"
                    '  pricing: ["@acme/finance"]\n'
                    '  change_board: ["@acme/security"]\n'
                ),
                "catalog/plans.json": CATALOG,
            },
        }
    },
    "install": True,
}
REPO = "acme/platform"


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def wait_conclusion(stack: LocalStack, pr: object, *wanted: str, timeout: float = 20) -> object:
    def done() -> bool:
        run = stack.sim.latest_check(pr)  # type: ignore[arg-type]
        return run is not None and run.status == "completed" and run.conclusion in wanted

    try:
        stack.sim.wait_for(done, timeout, f"check in {wanted}")
    except TimeoutError:
        run = stack.sim.latest_check(pr)  # type: ignore[arg-type]
        pytest.fail(
            f"expected {wanted}, last check: {run and (run.status, run.conclusion, run.title)}"
        )
    return stack.sim.latest_check(pr)  # type: ignore[arg-type]


def price_cut(stack: LocalStack, new_price: str = "29.4") -> object:
    return stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        "agent/pro-cut",
        {"catalog/plans.json": CATALOG.replace("49.0", new_price)},
        title="Cut Pro",
        body="Promotion.\n\nAgent-Run-Id: run_pricing_1\nAgent-Run-Operator: @dave",
    )


def test_docs_only_agent_pr_is_green_with_few_api_calls(stack: LocalStack) -> None:
    stack.sim.requests.clear()
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/readme",
        {"README.md": "# platform\nMore words.\n"},
        title="Docs",
        body="Reword.\n\nAgent-Run-Id: run_docs_1",
    )
    run = wait_conclusion(stack, pr, "success")
    assert run.title.startswith("Tier 0")  # type: ignore[attr-defined]
    calls = [c for c in stack.sim.requests if not c.startswith("GET /app/hook")]
    assert len(calls) <= 10, calls
    events = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))  # type: ignore[union-attr, attr-defined]
    assert events[-1].data()["conclusion"] == "success"
    assert events[-1].run_id == "run_docs_1"


def test_price_cut_needs_finance_and_ignores_agents_and_author(stack: LocalStack) -> None:
    pr = price_cut(stack)
    run = wait_conclusion(stack, pr, "action_required")
    assert "Tier 2" in run.title  # type: ignore[attr-defined]
    stack.sim.review(pr, "infra-bot[bot]", "APPROVED")
    stack.sim.review(pr, "dave", "APPROVED")  # the run's operator: never counts
    stack.sim.review(pr, "bob", "APPROVED")
    # Wait until all three reviews were evaluated: bob counts; the agent and operator are listed
    # as ignored; finance is still missing.
    stack.sim.wait_for(
        lambda: (
            "ignored: dave" in ((stack.sim.latest_check(pr) or pr).__dict__.get("summary") or "")
        ),
        20,
        "the reviews to be evaluated",
    )
    run = wait_conclusion(stack, pr, "action_required")
    assert "@acme/finance" in run.title  # type: ignore[attr-defined]
    summary = run.summary  # type: ignore[attr-defined]
    assert "ignored: infra-bot\\[bot\\]" in summary
    assert "approved by bob" in summary
    stack.sim.review(pr, "alice", "APPROVED")
    wait_conclusion(stack, pr, "success")
    stack.sim.merge(pr, by="bob")

    def merged() -> bool:
        return len(list(export_merges(stack.runtime.engine))) == 3  # type: ignore[union-attr]

    stack.sim.wait_for(merged, 20, "the merge record")
    lines = list(export_merges(stack.runtime.engine))  # type: ignore[union-attr]
    import json

    record = json.loads(lines[1])
    assert record["run_id"] == "run_pricing_1"
    assert record["bypass"] is False
    assert {a["login"] for a in record["approvals"]} == {"alice", "bob"}
    assert verify_chain(stack.runtime.engine).ok  # type: ignore[union-attr]


def test_missing_run_id_fails_closed(stack: LocalStack) -> None:
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/x",
        {"README.md": "# platform\nx\n"},
        title="x",
        body="No trailer.",
    )
    run = wait_conclusion(stack, pr, "failure")
    assert "Agent-Run-Id" in run.title  # type: ignore[attr-defined]


def test_admin_bypass_is_recorded(stack: LocalStack) -> None:
    pr = price_cut(stack, "5.0")
    wait_conclusion(stack, pr, "action_required", "failure")
    stack.sim.merge(pr, by="carol", admin=True)

    def recorded() -> bool:
        return any(
            e.kind == "bypass_merge"
            for e in events_for_pr(stack.runtime.engine, REPO, pr.number)  # type: ignore[union-attr, attr-defined]
        )

    stack.sim.wait_for(recorded, 20, "the bypass record")


def test_head_cannot_loosen_its_own_gate(stack: LocalStack) -> None:
    """The PR edits the config to drop finance; the gate still reads the base branch."""
    loosened = "enforce_for: all\napprovers: {}\n"
    pr = stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        "agent/sneaky",
        {
            "catalog/plans.json": CATALOG.replace("49.0", "29.4"),
            ".github/countersign.yml": loosened,
        },
        title="Cut and relax",
        body="x\n\nAgent-Run-Id: run_sneaky",
    )
    run = wait_conclusion(stack, pr, "failure", "action_required")
    assert run.conclusion in ("failure", "action_required")  # type: ignore[attr-defined]


def test_invalid_repo_config_fails_the_check_naming_the_line(stack: LocalStack) -> None:
    stack.sim.create_repo(
        "acme/broken",
        {
            "README.md": "# broken\n",
            ".github/countersign.yml": "approvers:\n  pricing: [finance-team]\n",
        },
    )
    stack.wait_processed()
    pr = stack.sim.open_pr(
        "acme/broken",
        "docs-bot[bot]",
        "agent/readme",
        {"README.md": "# broken\nfix\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_cfg",
    )
    run = wait_conclusion(stack, pr, "failure")
    assert "invalid repository config" in run.title  # type: ignore[attr-defined]
    assert ".github/countersign.yml:2" in run.summary  # type: ignore[attr-defined]
