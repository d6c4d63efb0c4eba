"""The pure pipeline with an agent's record handed in: graduation lowers the tier and the
approvals needed; a rate limit fails the check; no record (pre-flight) changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.agentops.history import AgentHistory
from app.agentops.scorecard import Scorecard
from app.core.models import FileDiff
from app.core.snapshot import PullRequestSnapshot
from app.gate.pipeline import Gatekeeper, evaluate_snapshot
from app.gate.render.markdown import conclusion_for, render_markdown
from tests.service._agent_tokens import policies_with_tokens

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
BASE = b'{"plans": [{"sku": "pro", "price": 49.0}]}\n'
CONFIG = b'paths:\n  "catalog/**.json": {kind: pricing, key: sku, price_fields: [price]}\n'


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Gatekeeper:
    policies = policies_with_tokens(
        tmp_path_factory.mktemp("ramp") / "policies",
        {
            "pricing-bot": "limits: {prs_per_hour: 3}\ngraduation:\n"
            "  - {rules: ['pricing.large-change'], from_tier: 2, to_tier: 1,\n"
            "     gates: {min_merged: 5, window_days: 30}}"
        },
    )
    return Gatekeeper.load(ROOT / "risk_rules", policies)


def snapshot(price: str) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/shop",
        number=3,
        author="pricing-bot[bot]",
        author_is_bot=True,
        body="Cut.\n\nAgent-Run-Id: run_ramp",
        head_sha="c" * 40,
        files=(
            FileDiff(
                path="catalog/plans.json", base=BASE, head=BASE.replace(b"49.0", price.encode())
            ),
        ),
        config_text=CONFIG,
    )


def record(merged: int, *, agent: str = "pricing-bot", **more: object) -> AgentHistory:
    card = Scorecard(agent_id=agent, since=NOW - timedelta(days=30), until=NOW, merged=merged,
                     run_id_coverage_pct=100.0)  # fmt: skip
    return AgentHistory(agent_id=agent, now=NOW, records={30: card}, **more)  # type: ignore[arg-type]


def test_graduation_lowers_the_tier_and_the_approvals(gate: Gatekeeper) -> None:
    plain = evaluate_snapshot(snapshot("29.4"), gate).report
    assert plain.tier == 2 and plain.graduation is not None and not plain.graduation.graduated
    earned = evaluate_snapshot(snapshot("29.4"), gate, agent_history=record(5)).report
    assert earned.tier == 1 and earned.graduation is not None and earned.graduation.graduated
    assert plain.approvals.required == ("2 distinct approvals",)
    assert earned.approvals.required == ("1 approval",)
    assert "graduated: 5 merged in 30 days, 0 reverted, 0 bypasses" in render_markdown(earned)
    short = evaluate_snapshot(snapshot("29.4"), gate, agent_history=record(4)).report
    assert short.tier == 2 and short.graduation is not None
    assert short.graduation.failed_gates == ("4 merged in 30 days (needs 5)",)
    # Another agent's record is never used; a change no entry covers carries no graduation.
    other = evaluate_snapshot(snapshot("29.4"), gate, agent_history=record(9, agent="x")).report
    assert other.tier == 2
    small = evaluate_snapshot(snapshot("47.0"), gate, agent_history=record(9)).report
    assert small.graduation is None


def test_a_rate_limit_fails_the_check(gate: Gatekeeper) -> None:
    burst = tuple(NOW - timedelta(minutes=m) for m in (40, 20, 5))
    evaluation = evaluate_snapshot(
        snapshot("47.0"), gate, agent_history=record(0, opened_last_hour=burst)
    )
    assert evaluation.report.problems[-1].startswith("agent.rate-limited: agent 'pricing-bot'")
    assert "clears at 2026-12-02 12:20:00 UTC" in evaluation.report.problems[-1]
    assert conclusion_for(evaluation.report) == "failure"
    calm = evaluate_snapshot(
        snapshot("47.0"), gate, agent_history=record(0, opened_last_hour=burst[:2])
    )
    assert not calm.report.problems
