"""Score, level and tier: monotonic, critical above any number of highs, tier table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.core.models import SEVERITIES, Severity
from app.core.report import Finding
from app.risk import default_tier, risk_summary, score_of, tier_for
from app.risk.score import raised

severities = st.sampled_from(SEVERITIES)


def finding(severity: Severity, tier: int | None = None) -> Finding:
    return Finding(
        rule="test.rule",
        severity=severity,
        tier=default_tier(severity) if tier is None else tier,
        message="m",
    )


@given(st.lists(severities, max_size=60), severities)
def test_adding_a_finding_never_lowers_the_score(existing: list[Severity], extra: Severity) -> None:
    before = score_of(existing)
    after = score_of([*existing, extra])
    assert after >= before
    assert 0 <= before <= 100
    assert 0 <= after <= 100


@given(st.integers(min_value=0, max_value=500), st.lists(severities, max_size=30))
def test_one_critical_beats_any_number_of_highs(highs: int, others: list[Severity]) -> None:
    lower: list[Severity] = [s for s in others if s != "critical"]
    many_highs: list[Severity] = ["high"] * highs
    assert score_of(["critical"]) > score_of(many_highs + lower)


@given(st.lists(severities, min_size=1, max_size=40))
def test_level_is_the_highest_severity(found: list[Severity]) -> None:
    risk = risk_summary([finding(s) for s in found])
    assert risk.level == max(found, key=SEVERITIES.index)
    assert risk.score == score_of(found)


def test_fixed_points() -> None:
    assert score_of([]) == 0
    assert risk_summary([]).model_dump() == {"level": "info", "score": 0}
    assert score_of(["info"]) == 1
    assert score_of(["critical"]) == 90
    assert score_of(["critical"] * 1000) == 100  # clamped
    assert score_of(["high"] * 1000) == 89  # never reaches the critical band
    assert score_of(["low", "low"]) > score_of(["low"])


def test_tier_table() -> None:
    assert {s: default_tier(s) for s in SEVERITIES} == {
        "info": 0,
        "low": 1,
        "medium": 1,
        "high": 2,
        "critical": 3,
    }
    assert tier_for([]) == 0
    assert tier_for([finding("info")]) == 0
    assert tier_for([finding("info"), finding("medium"), finding("low")]) == 1
    assert tier_for([finding("low", tier=3), finding("high")]) == 3  # a pinned tier counts


def test_raise_one_level() -> None:
    assert [raised(s) for s in SEVERITIES] == ["low", "medium", "high", "critical", "critical"]
