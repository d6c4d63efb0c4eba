"""The console's audit reads and writes on both databases (SQLite always, PostgreSQL in CI)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.agentops.scorecard import Window
from app.console.pages import ALL_TIME
from app.console.queries import (
    MergeFilter,
    ReviewRefused,
    last_verification,
    merges_page,
    record_bypass_review,
    verify_and_record,
)
from app.store.audit.agent_events import agent_scorecards
from app.store.audit.records import MergeRecord
from app.store.audit.store import append
from app.store.audit.verify import verify_chain

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "audit"
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def merge(pr: int, **overrides: object) -> MergeRecord:
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    return MergeRecord.model_validate({**data, "pr": pr, **overrides})


def evaluation(
    engine: sa.Engine, pr: int, agent: str, conclusion: str, day: int, tier: str | None = None
) -> None:
    report = {"tier": tier} if tier else {}
    append(
        engine,
        "evaluation",
        {"conclusion": conclusion, "head_sha": "h", "report": report},
        occurred_at=START + timedelta(days=day),
        repo="acme/catalog",
        pr_number=pr,
        agent_id=agent,
    )


def fill(engine: sa.Engine) -> None:
    evaluation(engine, 1, "pricing-bot", "action_required", 0)
    evaluation(engine, 1, "pricing-bot", "success", 0)
    append(engine, "merge", merge(1, agent_id="pricing-bot", run_id="r1", tier=2))
    evaluation(engine, 2, "pricing-bot", "failure", 1)
    evaluation(engine, 3, "infra-bot", "action_required", 2)
    append(
        engine,
        "bypass_merge",
        merge(3, agent_id="infra-bot", run_id=None, tier=3, bypass=True, merged_by="carol"),
    )


def test_merges_page_filters_and_orders(db_engine: sa.Engine) -> None:
    fill(db_engine)
    rows, total = merges_page(db_engine, MergeFilter())
    assert total == 2 and [r.pr for r in rows] == [3, 1]
    assert rows[0].bypass and rows[0].reviewed_by is None
    assert merges_page(db_engine, MergeFilter(tier="3"))[1] == 1
    assert merges_page(db_engine, MergeFilter(bypass=False))[0][0].pr == 1
    assert merges_page(db_engine, MergeFilter(run_id="r1"))[1] == 1
    assert merges_page(db_engine, MergeFilter(), page=2, per_page=1)[0][0].pr == 1


def test_all_time_scorecards_keep_blocked_and_failed_apart(db_engine: sa.Engine) -> None:
    """The Agents page's all-time row is a Scorecard: `failed` is the newest evaluation failing
    the check, `blocked` only what Cedar denied (tier `blocked`): two ideas, two names."""
    fill(db_engine)
    evaluation(db_engine, 4, "pricing-bot", "failure", 2, tier="blocked")
    window = Window(since=ALL_TIME, until=datetime.now(UTC) + timedelta(seconds=1))
    cards = {c.agent_id: c for c in agent_scorecards(db_engine, window, by_class=False)}
    pricing, infra = cards["pricing-bot"], cards["infra-bot"]
    assert (pricing.evaluated, pricing.merged, pricing.failed, pricing.blocked) == (3, 1, 2, 1)
    assert (pricing.bypassed, pricing.run_id_coverage_pct) == (0, 100.0)
    assert pricing.evaluated_with_run_id == 1  # PR 1 merged with run r1; PRs 2, 4 named none
    assert (infra.evaluated, infra.merged, infra.failed, infra.blocked) == (1, 1, 0, 0)
    assert (infra.bypassed, infra.run_id_coverage_pct, infra.evaluated_with_run_id) == (1, 0.0, 0)


def test_bypass_review_rules_and_chain(db_engine: sa.Engine) -> None:
    fill(db_engine)
    with pytest.raises(ReviewRefused, match="not a bypass"):
        record_bypass_review(db_engine, "acme/catalog", 1, reviewer="erin", note="ok")
    with pytest.raises(ReviewRefused, match="someone else"):
        record_bypass_review(db_engine, "acme/catalog", 3, reviewer="Carol", note="mine")
    seq = record_bypass_review(db_engine, "acme/catalog", 3, reviewer="erin", note="CAB-7")
    rows, _ = merges_page(db_engine, MergeFilter(bypass=True))
    assert rows[0].reviewed_by == "erin"
    with pytest.raises(ReviewRefused, match="already reviewed"):
        record_bypass_review(db_engine, "acme/catalog", 3, reviewer="frank", note="again")
    assert last_verification(db_engine) is None
    result = verify_and_record(db_engine, "erin")
    last = last_verification(db_engine)
    assert result.ok and last is not None
    assert (last.ok, last.count, last.by, last.seq) == (True, seq, "erin", seq + 1)
    assert verify_chain(db_engine).ok
