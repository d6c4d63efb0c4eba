"""The trust ramp's pure decision: selectors must cover every finding at the tier, and every
gate must hold on the record; anything missing keeps the tier."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from app.agentops.history import AgentHistory
from app.agentops.ramp import graduation_for
from app.agentops.scorecard import Scorecard
from app.config.agent_ops import GraduationEntry
from app.core.models import Change
from app.core.report import Finding

NOW = datetime(2026, 12, 2, 12, tzinfo=UTC)
PRICE = Change(file="catalog/plans.json", kind="pricing", address="plan_code:pro", op="update")
ENTRY = GraduationEntry.model_validate(
    {
        "rules": ["pricing.large-change"],
        "from_tier": 2,
        "to_tier": 1,
        "gates": {
            "min_merged": 30,
            "window_days": 30,
            "max_reverted_pct": 0.1,
            "max_bypass": 0,
            "min_run_id_coverage_pct": 100,
            "max_cost_per_merge_usd": 0.25,
        },
    }
)


def finding(rule: str = "pricing.large-change", tier: int = 2) -> Finding:
    return Finding(rule=rule, severity="high", tier=tier, file=PRICE.file,
                   address=PRICE.address, message="m")  # fmt: skip


def history(**figures: object) -> AgentHistory:
    base: dict[str, object] = {
        "merged": 34, "reverted": 0, "reverted_pct": 0.0, "bypassed": 0,
        "run_id_coverage_pct": 100.0, "cost_usd": "3.40", "cost_per_merge_usd": 0.1,
    }  # fmt: skip
    base.update(figures)
    card = Scorecard.model_validate({"agent_id": "pricing-bot", "since": NOW, "until": NOW, **base})
    return AgentHistory(agent_id="pricing-bot", now=NOW, records={30: card})


def test_graduates_with_the_figures_in_the_summary() -> None:
    result = graduation_for([ENTRY], 2, [finding()], [PRICE], history())
    assert result is not None and result.graduated and result.to_tier == 1
    assert result.summary == "graduated: 34 merged in 30 days, 0 reverted, 0 bypasses (tier 2 → 1)"
    assert result.figures is not None and result.figures.merged == 34


@pytest.mark.parametrize(
    ("figures", "why"),
    [
        ({"merged": 29}, "29 merged in 30 days (needs 30)"),
        ({"reverted": 1, "reverted_pct": 2.941}, "1 reverted in 30 days (2.941% > 0.1%)"),
        ({"bypassed": 1}, "1 bypasses in 30 days (max 0)"),
        ({"run_id_coverage_pct": 97.0}, "run-ID coverage 97% (needs 100%)"),
        ({"cost_per_merge_usd": 0.3}, "$0.3 per merge (max $0.25)"),
        ({"merges_without_cost": 2}, "2 merges without Agent-Run-Cost-USD"),
    ],
)
def test_one_failing_gate_keeps_the_tier(figures: dict[str, object], why: str) -> None:
    result = graduation_for([ENTRY], 2, [finding()], [PRICE], history(**figures))
    assert result is not None and not result.graduated
    assert result.failed_gates == (why,)
    assert result.summary == f"not graduated (stays tier 2): {why}"


def test_uncovered_findings_other_tiers_and_no_record() -> None:
    mixed = [finding(), finding("terraform.delete-stateful")]
    assert graduation_for([ENTRY], 2, mixed, [PRICE], history()) is None
    assert graduation_for([ENTRY], 1, [finding(tier=1)], [PRICE], history()) is None
    assert graduation_for([ENTRY], "blocked", [finding()], [PRICE], history()) is None
    none = graduation_for([ENTRY], 2, [finding()], [PRICE], None)
    assert none is not None and not none.graduated
    assert none.failed_gates == ("no audited record available",)
    # Findings below the tier do not need to be covered.
    lower = [finding(), finding("data.key-removed", tier=1)]
    result = graduation_for([ENTRY], 2, lower, [PRICE], history())
    assert result is not None and result.graduated


def test_kind_and_op_selectors_and_class_wildcards() -> None:
    by_kind = GraduationEntry.model_validate(
        {
            "changes": [{"kind": "pricing", "op": "update"}],
            "from_tier": 2,
            "to_tier": 1,
            "gates": {"min_merged": 1},
        }
    )
    result = graduation_for([by_kind], 2, [finding("pricing.anything")], [PRICE], history())
    assert result is not None and result.graduated
    delete = PRICE.model_copy(update={"op": "delete"})
    assert graduation_for([by_kind], 2, [finding()], [delete], history()) is None
    wildcard = ENTRY.model_copy(update={"rules": ("pricing.*",)})
    assert wildcard.covers_rule("pricing.change") and not wildcard.covers_rule("pricingx.a")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"rules": ["x.y"], "from_tier": 3, "to_tier": 2}, "tier 3 and blocked never do"),
        ({"rules": ["x.y"], "from_tier": 2, "to_tier": 2}, "must be below from_tier"),
        ({"from_tier": 2, "to_tier": 1}, "needs `rules` or `changes`"),
        ({"rules": ["x.y"], "from_tier": 2, "to_tier": 1, "gates": {"min_mergd": 3}}, "min_mergd"),
    ],
)
def test_bad_entries_are_refused(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        GraduationEntry.model_validate(entry)


@given(
    merged=st.integers(0, 100),
    reverted=st.integers(0, 100),
    bypassed=st.integers(0, 5),
    coverage=st.floats(0, 100),
)
def test_graduation_implies_every_gate(
    merged: int, reverted: int, bypassed: int, coverage: float
) -> None:
    reverted = min(reverted, merged)
    pct = round(100 * reverted / merged, 3) if merged else 0.0
    result = graduation_for(
        [ENTRY], 2, [finding()], [PRICE],
        history(merged=merged, reverted=reverted, reverted_pct=pct, bypassed=bypassed,
                run_id_coverage_pct=coverage),
    )  # fmt: skip
    assert result is not None
    if result.graduated:
        assert merged >= 30 and bypassed == 0 and coverage >= 100 and pct <= 0.1
    else:
        assert result.failed_gates
