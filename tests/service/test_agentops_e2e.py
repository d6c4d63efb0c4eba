"""Agent ops end to end: the trust ramp earned from a seeded audit record, demotion by a real
revert merged through GitHub, a PR rate limit held across two worker processes, and pre-flight
API calls counted in the scorecard."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from app.agentops.scorecard import Window
from app.core.report import AgentInfo, ApprovalRecord, ApprovalStatus, Finding, Report, Risk
from app.demo.stack import LocalStack
from app.service.reconcile import sweep_open_prs
from app.sim.scenario import apply_setup
from app.store.audit import store
from app.store.audit.agent_events import agent_scorecards
from app.store.audit.records import EvaluationRecord, MergeApproval, MergeFinding, MergeRecord
from tests.processes import child_processes
from tests.service._agent_tokens import policies_with_tokens, sha256_ref
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

REPO = "acme/platform"
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
        {"login": "pricing-bot[bot]", "type": "Bot"},
        {"login": "docs-bot[bot]", "type": "Bot"},
    ],
    "teams": {"finance": ["alice"], "platform": ["bob"], "security": ["carol"]},
    "repos": {
        REPO: {
            "admins": ["carol"],
            "files": {
                "README.md": "# platform\n",
                ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n",
                ".github/countersign.yml": (
                    "paths:\n"
                    '  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
                    "approvers:\n"
                    '  pricing: ["@acme/finance"]\n'
                ),
                "catalog/plans.json": CATALOG,
            },
        }
    },
    "install": True,
}
RAMP = (
    "graduation:\n"
    "  - {changes: [{kind: pricing, op: update}], from_tier: 2, to_tier: 1,\n"
    "     gates: {min_merged: 3, window_days: 30, max_reverted_pct: 0, max_bypass: 0,\n"
    "             min_run_id_coverage_pct: 100, max_cost_per_merge_usd: 0.5}}"
)
DOCS_TOKEN = "pf_docs_51c0a7e9d3b24f6e8a1c"


def policies(tmp: Path, *, defaults: str = "") -> Path:
    target = policies_with_tokens(
        tmp / "policies",
        {"pricing-bot": RAMP, "docs-bot": f'api_tokens: ["{sha256_ref(DOCS_TOKEN)}"]'},
    )
    if defaults:
        registry = target / "agents.yaml"
        registry.write_text(registry.read_text().replace("\nagents:\n", f"\n{defaults}agents:\n"))
    return target


def seed_merge(engine: sa.Engine, pr: int, days_ago: float, *, cost: str = "0.12") -> str:
    """One pricing-bot PR as the service records it: its evaluation, then its merge."""
    merged_at = datetime.now(UTC) - timedelta(days=days_ago)
    evaluated_at = merged_at - timedelta(hours=3)
    head, merge_sha = f"{pr:x}".rjust(40, "a"), f"{pr:x}".rjust(40, "b")
    finding = Finding(
        rule="pricing.large-change",
        severity="high",
        tier=2,
        file="catalog/plans.json",
        line=5,
        address="plan_code:pro-monthly",
        message="Price of plan_code:pro-monthly changes by -25.0 %",
    )
    approval = ApprovalRecord(login="alice", teams=("acme/finance",), commit=head,
                              at=(evaluated_at + timedelta(minutes=40)).isoformat())  # fmt: skip
    report = Report(
        findings=(finding,),
        risk=Risk(level="high", score=70),
        tier=2,
        approvals=ApprovalStatus(required=("2 approvals",), satisfied=True, approvals=(approval,)),
        agent=AgentInfo(
            id="pricing-bot",
            run_id=f"run_seed_{pr}",
            author="pricing-bot[bot]",
            is_agent=True,
            run_cost_usd=cost,
        ),
        policy_version="seeded",
    )
    store.append(
        engine,
        "evaluation",
        EvaluationRecord(
            report=report.model_dump(mode="json"),
            head_sha=head,
            policy_version="seeded",
            conclusion="success",
        ),
        occurred_at=evaluated_at,
        repo=REPO,
        pr_number=pr,
        head_sha=head,
        agent_id="pricing-bot",
        run_id=f"run_seed_{pr}",
    )
    record = MergeRecord(
        repo=REPO,
        pr=pr,
        title=f"Adjust pro-monthly ({pr})",
        url=f"https://github.com/{REPO}/pull/{pr}",
        agent_id="pricing-bot",
        run_id=f"run_seed_{pr}",
        author="pricing-bot[bot]",
        head_sha=head,
        merge_commit_sha=merge_sha,
        merged_by="alice",
        merged_at=merged_at,
        tier=2,
        risk_level="high",
        risk_score=70,
        findings=[MergeFinding.model_validate(finding.model_dump())],
        approvals=[
            MergeApproval(
                login="alice",
                teams=["acme/finance"],
                time=evaluated_at + timedelta(minutes=40),
                commit=head,
            )
        ],
        check_conclusion="success",
        policy_version="seeded",
        run_cost_usd=cost,
        head_first_evaluated_at=evaluated_at,
    )
    store.append(engine, "merge", record, occurred_at=merged_at)
    return merge_sha


def price_cut(stack: LocalStack, branch: str, run: str) -> Any:
    return stack.sim.open_pr(
        REPO,
        "pricing-bot[bot]",
        branch,
        {"catalog/plans.json": CATALOG.replace("49.0", "36.0")},
        title="Cut Pro",
        body=f"Promotion.\n\nAgent-Run-Id: {run}\nAgent-Run-Cost-USD: 0.08",
    )


def wait_check(stack: LocalStack, pr: Any, *wanted: str, contains: str = "") -> Any:
    def done() -> bool:
        run = stack.sim.latest_check(pr)
        return (
            run is not None
            and run.status == "completed"
            and run.conclusion in wanted
            and contains in (run.summary or "")
        )

    try:
        stack.sim.wait_for(done, 30, f"check in {wanted} saying {contains!r}")
    except TimeoutError:
        run = stack.sim.latest_check(pr)
        pytest.fail(f"last check: {run and (run.conclusion, run.title, run.summary)}")
    return stack.sim.latest_check(pr)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory, module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url, policies_dir=policies(tmp_path_factory.mktemp("ops"))) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def engine_of(stack: LocalStack) -> sa.Engine:
    assert stack.runtime is not None
    return stack.runtime.engine


def test_a_seeded_record_graduates_the_price_change_to_tier_1(stack: LocalStack) -> None:
    engine = engine_of(stack)
    for pr, days in ((101, 20), (102, 9), (103, 2)):
        seed_merge(engine, pr, days)
    seed_merge(engine, 90, 45)  # outside the 30-day window: not counted
    pr = price_cut(stack, "agent/pro-cut", "run_ramp_1")
    run = wait_check(stack, pr, "action_required", contains="graduated: 3 merged")
    assert run.title.startswith("Tier 1 · high · 0 of 1 approval"), run.title
    assert "graduated: 3 merged in 30 days, 0 reverted, 0 bypasses (tier 2 → 1)" in run.summary
    evaluation = store.latest_evaluation(engine, REPO, pr.number, pr.head_sha)
    assert evaluation is not None
    data = evaluation.data()
    graduation = data["report"]["graduation"]
    assert graduation["graduated"] is True
    assert graduation["figures"] == {
        "window_days": 30, "merged": 3, "reverted": 0, "reverted_pct": 0.0, "bypassed": 0,
        "run_id_coverage_pct": 100.0, "cost_per_merge_usd": 0.12, "merges_without_cost": 0,
    }  # fmt: skip
    assert data["agent_record"] == {"opened_last_hour": 0, "opened_last_day": 0, "open_prs": 0}
    # One finance approval is enough at tier 1 (tier 2 would want two people).
    stack.sim.review(pr, "alice", "APPROVED")
    wait_check(stack, pr, "success")
    stack.sim.merge(pr, by="alice")
    stack.wait_processed()
    now = datetime.now(UTC)
    cards = agent_scorecards(engine, Window(now - timedelta(days=30), now), agent_id="pricing-bot")
    card = next(c for c in cards if c.rule_class is None)
    assert (card.merged, card.bypassed, card.reverted, card.run_id_coverage_pct) == (4, 0, 0, 100.0)
    assert card.cost_usd == "0.44"
    assert [c.rule_class for c in cards] == [None, "pricing"]


def test_a_revert_merged_through_github_demotes_at_once(stack: LocalStack) -> None:
    engine = engine_of(stack)
    shas = [seed_merge(engine, pr, days) for pr, days in ((101, 20), (102, 9), (103, 2))]
    # A person reverts #102 with GitHub's Revert button: title, body and commit as GitHub writes.
    revert = stack.sim.open_pr(
        REPO,
        "bob",
        "revert-102-agent/pro-cut",
        {"README.md": "# platform\n\nPrices restored.\n"},
        title='Revert "Adjust pro-monthly (102)"',
        body=f"Reverts {REPO}#102",
        message=f'Revert "Adjust pro-monthly (102)"\n\nThis reverts commit {shas[1]}.\n',
    )
    wait_check(stack, revert, "success")
    stack.sim.merge(revert, by="bob")
    stack.wait_processed()
    merges = store.events_for_pr(engine, REPO, revert.number, kinds=("merge",))
    assert merges and merges[-1].data()["reverts"] == {
        "commits": [shas[1]],
        "pulls": [f"{REPO}#102"],
    }
    pr = price_cut(stack, "agent/pro-cut-2", "run_ramp_2")
    run = wait_check(stack, pr, "action_required", contains="not graduated")
    assert run.title.startswith("Tier 2"), run.title
    assert "not graduated (stays tier 2): 1 reverted in 30 days (33.333% &gt; 0%)" in run.summary
    evaluation = store.latest_evaluation(engine, REPO, pr.number, pr.head_sha)
    assert evaluation is not None
    graduation = evaluation.data()["report"]["graduation"]
    assert graduation["graduated"] is False
    assert graduation["figures"]["reverted"] == 1
    now = datetime.now(UTC)
    card = agent_scorecards(engine, Window(now - timedelta(days=30), now), agent_id="pricing-bot")[
        0
    ]
    assert card.reverted_prs == (f"{REPO}#102",)


def test_pre_flight_calls_are_counted_in_the_scorecard(stack: LocalStack) -> None:
    body = {
        "diff": "--- a/README.md\n+++ b/README.md\n@@ -1 +1 @@\n-# platform\n+# Platform\n",
        "repo": REPO,
        "body": "Agent-Run-Id: run_pf_1",
    }
    for _ in range(3):
        ok = httpx.post(f"{stack.url}/api/analyze", json=body, timeout=60,
                        headers={"Authorization": f"Bearer {DOCS_TOKEN}"})  # fmt: skip
        assert ok.status_code == 200, ok.text
    bad = httpx.post(f"{stack.url}/api/analyze", json={"diff": "x"}, timeout=60,
                     headers={"Authorization": f"Bearer {DOCS_TOKEN}"})  # fmt: skip
    assert bad.status_code == 422
    anonymous = httpx.post(f"{stack.url}/api/analyze", json=body, timeout=60)
    assert anonymous.status_code == 401
    now = datetime.now(UTC)
    window = Window(now - timedelta(hours=1), now + timedelta(seconds=1))
    cards = agent_scorecards(engine_of(stack), window)
    assert [(c.agent_id, c.analyze_calls) for c in cards] == [("docs-bot", 4)]
    auth = {"Authorization": f"Bearer {stack.metrics_token}"}
    metrics = httpx.get(f"{stack.url}/metrics", headers=auth, timeout=30).text
    assert 'countersign_agent_analyze_calls{agent="docs-bot"} 4.0' in metrics


def test_a_rate_limit_holds_across_two_worker_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rate.db'}"
    limits = "defaults:\n  limits: {prs_per_hour: 2}\n"
    ctx = child_processes()
    stop, results = ctx.Event(), ctx.Queue()
    with local_stack(url, role="web", policies_dir=policies(tmp_path, defaults=limits)) as stack:
        from tests.service._agentops_workers import run_worker

        readies = [ctx.Event() for _ in range(2)]
        children = [
            ctx.Process(target=run_worker, args=(stack.settings(), ready, stop, results))
            for ready in readies
        ]
        for child in children:
            child.start()
        try:
            assert all(ready.wait(60) for ready in readies), "the worker processes did not start"
            apply_setup(stack.sim, SETUP)
            stack.wait_processed()
            prs = [
                stack.sim.open_pr(REPO, "docs-bot[bot]", f"agent/docs-{i}",
                                  {f"docs/page{i}.md": f"# Page {i}\n"},
                                  title=f"Docs {i}", body=f"Page {i}.\n\nAgent-Run-Id: run_docs_{i}")
                for i in range(4)
            ]  # fmt: skip
            stack.wait_processed(60)
            runs = [wait_check(stack, pr, "success", "failure") for pr in prs]
        finally:
            stop.set()
            for child in children:
                child.join(60)
        processed = [results.get(timeout=10) for _ in children]
        assert sum(processed) >= 4, processed
        engine = stack.runtime.engine if stack.runtime else None
        assert engine is not None
        openings = engine.connect().execute(
            sa.text("SELECT pr_number FROM audit_event WHERE kind = 'agent_pr' ORDER BY seq")
        ).scalars().all()  # fmt: skip
    assert sorted(openings) == sorted(pr.number for pr in prs)
    by_pr = {pr.number: run for pr, run in zip(prs, runs, strict=True)}
    passed = [n for n in openings if by_pr[n].conclusion == "success"]
    limited = [n for n in openings if by_pr[n].conclusion == "failure"]
    # The first two openings in audit order pass, whichever process judged them.
    assert passed == list(openings[:2]) and limited == list(openings[2:])
    for before, n in enumerate(limited, start=2):
        title = by_pr[n].title
        assert title.startswith(f"Failed: agent.rate-limited: agent 'docs-bot' opened {before} "), (
            title
        )
        assert "(prs_per_hour: 2); clears at" in title


@contextmanager
def two_docs_prs_over_open_limit(tmp_path: Path) -> Iterator[tuple[LocalStack, Any, Any]]:
    """docs-bot may have one open PR; it opens two: the first passes, the second is limited."""
    limits = "defaults:\n  limits: {open_prs: 1}\n"
    url = f"sqlite:///{tmp_path / 'open.db'}"
    with local_stack(url, policies_dir=policies(tmp_path, defaults=limits)) as stack:
        apply_setup(stack.sim, SETUP)
        stack.wait_processed()
        first, second = (
            stack.sim.open_pr(REPO, "docs-bot[bot]", f"agent/docs-{i}",
                              {f"docs/p{i}.md": f"# {i}\n"}, title=f"Docs {i}",
                              body=f"x\n\nAgent-Run-Id: run_open_{i}")
            for i in (1, 2)
        )  # fmt: skip
        wait_check(stack, first, "success")
        wait_check(stack, second, "failure", contains="agent.rate-limited")
        yield stack, first, second


def test_an_open_pr_limit_clears_when_the_earlier_pr_is_closed(tmp_path: Path) -> None:
    with two_docs_prs_over_open_limit(tmp_path) as (stack, first, second):
        limited = stack.sim.latest_check(second)
        assert limited is not None
        assert limited.title.startswith(
            "Failed: agent.rate-limited: agent 'docs-bot' has 1 open PR opened before this one "
            "(open_prs: 1); clears when one of them is merged or closed"
        ), limited.title
        stack.sim.close_pr(first, by="docs-bot[bot]")
        stack.wait_processed()
        events = store.events_for_pr(engine_of(stack), REPO, first.number, kinds=("pr_closed",))
        assert len(events) == 1 and events[0].agent_id == "docs-bot"
        stack.sim.rerequest_check(limited.id, by="docs-bot[bot]")
        wait_check(stack, second, "success")


def test_the_sweep_re_evaluates_a_rate_limited_pr_once_its_limit_clears(tmp_path: Path) -> None:
    """Nobody presses Re-run: the reconciliation sweep re-evaluates rate-limited heads."""
    with two_docs_prs_over_open_limit(tmp_path) as (stack, first, second):
        assert stack.runtime is not None
        # Still limited: the sweep re-evaluates once per evaluation, and the check stays failed.
        assert sweep_open_prs(stack.runtime) == [f"{REPO}#{second.number}"]
        stack.wait_processed()
        engine = engine_of(stack)
        assert len(store.evaluations_for_pr(engine, REPO, second.number)) == 2
        wait_check(stack, second, "failure", contains="agent.rate-limited")
        stack.sim.close_pr(first, by="docs-bot[bot]")
        stack.wait_processed()
        assert sweep_open_prs(stack.runtime) == [f"{REPO}#{second.number}"]
        stack.wait_processed()
        wait_check(stack, second, "success")
        assert sweep_open_prs(stack.runtime) == []  # green heads are left alone
