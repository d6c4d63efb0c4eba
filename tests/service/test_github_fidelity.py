"""The App end to end against a simulator that behaves like GitHub where it used to be kinder:
files past GraphQL's 512,000-byte cut, a file above the blob cap, GraphQL rate limits (HTTP 200),
a permission the installation lacks, more than 100 open PRs, and a foreign `countersign` run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session, select

from app.core.models import FileDiff
from app.core.snapshot import Commit, PullRequestSnapshot
from app.demo.stack import LocalStack
from app.gate.pipeline import evaluate_snapshot
from app.service.reconcile import sweep_open_prs
from app.sim.faults import Fault
from app.sim.integrations import foreign_check_run
from app.sim.scenario import apply_setup
from app.sim.state import PullRequest
from app.store import inbox
from app.store.audit.store import evaluations_for_pr
from tests.github.tariffs import CONFIG, cut_last_price, tariff_book
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e
REPO = "acme/platform"
SETUP = {
    "org": "acme",
    "users": [
        "alice",
        {"login": "docs-bot[bot]", "type": "Bot"},
        {"login": "pricing-bot[bot]", "type": "Bot"},
    ],
    "teams": {"platform": ["alice"], "finance": ["alice"]},
    "repos": {
        REPO: {"files": {"README.md": "# platform\n", ".github/CODEOWNERS": "* @acme/platform\n"}}
    },
    "install": True,
}


def make_stack(db_url: str, **settings: Any) -> Iterator[LocalStack]:
    """A stack of its own, for a test that needs special settings."""
    with local_stack(db_url, retry_base_seconds=0.05, **settings) as s:
        apply_setup(s.sim, SETUP)
        s.sim.wait_idle()
        yield s


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url, retry_base_seconds=0.05) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def deliveries(stack: LocalStack, action: str = "opened") -> list[inbox.Delivery]:
    assert stack.runtime is not None
    with Session(stack.runtime.engine) as session:
        rows = session.exec(select(inbox.Delivery).where(inbox.Delivery.event == "pull_request"))
        return [r for r in rows.all() if r.action == action]


def completed(stack: LocalStack, pr: PullRequest, timeout: float = 60) -> Any:
    stack.sim.wait_for(
        lambda: (stack.sim.latest_check(pr) or pr).__dict__.get("status") == "completed",
        timeout,
        "the check to complete",
    )
    return stack.sim.latest_check(pr)


def open_tariff_pr(stack: LocalStack) -> tuple[PullRequest, bytes, bytes, str]:
    book = tariff_book()
    stack.sim.create_repo(
        "acme/tariffs", {"tariffs/zones.csv": book, ".github/CODEOWNERS": "* @acme/finance\n"}
    )
    repo = stack.sim.world.repo("acme/tariffs")
    assert repo is not None
    head, code = cut_last_price(book)
    pr = stack.sim.open_pr(
        "acme/tariffs",
        "pricing-bot[bot]",
        "agent/tariff-review",
        {"tariffs/zones.csv": head, ".github/countersign.yml": CONFIG},
        title="Quarterly tariff review",
        body="Reprice the last tariff.\n\nAgent-Run-Id: run_tariff_7",
    )
    return pr, book, head, code


def test_a_cut_past_graphqls_512_kb_is_seen_with_the_right_tier(stack: LocalStack) -> None:
    pr, book, head, code = open_tariff_pr(stack)
    run = completed(stack, pr)
    assert run.conclusion != "success"
    assert stack.runtime is not None
    (evaluation,) = evaluations_for_pr(stack.runtime.engine, "acme/tariffs", pr.number)
    report = evaluation.data()["report"]
    (change,) = [c for c in report["changes"] if c["file"] == "tariffs/zones.csv"]
    assert change["address"] == f"tariff_code:{code}"
    assert change["facts"]["price_delta_pct"] == pytest.approx(-99, abs=0.5)
    # The same tier as judging the whole file locally (the truncated text gave tier 0).
    local = evaluate_snapshot(
        PullRequestSnapshot(
            repo="acme/tariffs",
            number=pr.number,
            body="Reprice the last tariff.\n\nAgent-Run-Id: run_tariff_7",
            author="pricing-bot[bot]",
            author_is_bot=True,
            head_sha=pr.head_sha,
            base_sha=pr.base_sha,
            commits=(Commit(sha=pr.head_sha, author_login="pricing-bot[bot]"),),
            files=(
                FileDiff(path="tariffs/zones.csv", base=book, head=head),
                FileDiff(path=".github/countersign.yml", status="added", head=CONFIG),
            ),
            codeowners="* @acme/finance\n",
        ),
        stack.runtime.gate,
    )
    assert report["tier"] == local.report.tier not in (0, None)


def test_a_file_above_the_blob_cap_fails_the_check(db_url: str) -> None:
    for stack in make_stack(db_url, max_blob_bytes=600_000):
        pr, _, head, _ = open_tariff_pr(stack)
        run = completed(stack, pr)
        assert run.conclusion == "failure"
        assert f"{len(head):,} bytes" in (run.summary or "")
        assert "600,000-byte cap" in (run.summary or "")


def test_graphql_rate_limit_waits_for_the_reset_then_completes(stack: LocalStack) -> None:
    stack.sim.faults.inject("POST", "/graphql", Fault.graphql_rate_limit(reset_in=3), times=1)
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nmore\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_rl",
    )
    stack.sim.wait_for(
        lambda: any(d.attempts >= 1 and d.last_error for d in deliveries(stack)), 20, "a retry"
    )
    (fired,) = stack.sim.faults.fired
    reset = datetime.fromtimestamp(int(fired.headers["X-RateLimit-Reset"]), UTC)
    waiting = next(d for d in deliveries(stack) if d.last_error)
    assert "rate limit" in (waiting.last_error or "")
    assert waiting.next_attempt_at is not None
    # The recorded next attempt is at GitHub's reset, not after the 0.05 s backoff.
    assert waiting.next_attempt_at.astimezone(UTC) >= reset
    stack.sim.wait_for(
        lambda: [d.status for d in deliveries(stack)] == ["done"], 30, "the delivery to finish"
    )
    assert completed(stack, pr).conclusion == "success"
    (done,) = deliveries(stack)
    assert done.attempts == 2


def test_a_permission_the_installation_lacks_fails_the_check_with_the_reason(
    stack: LocalStack,
) -> None:
    (inst,) = stack.sim.world.installations.values()
    stack.sim.set_permissions(
        inst.id, {k: v for k, v in inst.permissions.items() if k != "contents"}
    )
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nmore\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_perm",
    )
    stack.sim.wait_for(
        lambda: [d.status for d in deliveries(stack)] == ["failed"], 30, "the delivery to fail"
    )
    run = completed(stack, pr, 30)
    assert run.conclusion == "failure"
    assert "Resource not accessible by integration" in (run.summary or "")
    (failed,) = deliveries(stack)
    assert failed.attempts == 1  # retrying cannot grant a permission
    assert stack.runtime is not None
    assert not evaluations_for_pr(stack.runtime.engine, REPO, pr.number)


def test_the_sweep_reads_every_page_of_open_prs(db_url: str) -> None:
    for stack in make_stack(db_url, role="web"):  # no worker: every PR stays unevaluated
        for i in range(105):
            stack.sim.open_pr(
                REPO, "alice", f"docs/{i}", {f"docs/{i}.md": f"{i}\n"}, title=f"Docs {i}"
            )
        stack.sim.wait_idle(30)
        assert stack.runtime is not None
        queued = sweep_open_prs(stack.runtime)
        assert len(queued) == 105 == len(set(queued))


def test_a_foreign_countersign_run_is_never_taken_for_ours(stack: LocalStack) -> None:
    stack.sim.faults.inject("POST", "/graphql", Fault.error(500), times=None)
    pr = stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/docs",
        {"README.md": "# platform\nmore\n"},
        title="Docs",
        body="x\n\nAgent-Run-Id: run_foreign",
    )
    stack.sim.wait_for(lambda: stack.sim.latest_check(pr) is not None, 20, "our check")
    # An Actions job that happens to be called `countersign` finishes on the same head.
    actions = foreign_check_run(stack.sim, REPO, pr.head_sha, "countersign", conclusion="success")
    stack.sim.wait_for(
        lambda: any(d.status == "failed" for d in deliveries(stack)), 60, "the last retry"
    )
    ours = completed(stack, pr)
    assert ours.id != actions.id and ours.conclusion == "failure"
    assert (actions.conclusion, actions.title) == ("success", "Job finished")
