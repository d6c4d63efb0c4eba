"""The pure aggregate arithmetic: the latency histogram's error bound, cost text, window days,
and a PR's figures moving when a later evaluation changes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.agentops.aggregate_cards import days_of, money
from app.agentops.aggregates import (
    ALL,
    Counts,
    PrState,
    bucket_value,
    cost_places,
    histogram_percentile,
    latency_bucket,
    micro_usd,
    on_evaluation,
)
from app.agentops.facts import EvaluationFact
from app.agentops.scorecard import Window, percentile

DAY = datetime(2026, 11, 2, 9, tzinfo=UTC)


@given(st.floats(min_value=1, max_value=10**9))
def test_a_latency_reads_back_within_the_documented_error(seconds: float) -> None:
    # 2^(1/32) − 1 ≈ 2.19 %.
    assert bucket_value(latency_bucket(seconds)) == pytest.approx(seconds, rel=0.022)


@given(st.lists(st.floats(min_value=0, max_value=10**8), min_size=1, max_size=50))
def test_histogram_percentiles_are_the_exact_ones_within_the_error(values: list[float]) -> None:
    histogram: dict[int, int] = {}
    for v in values:
        histogram[latency_bucket(v)] = histogram.get(latency_bucket(v), 0) + 1
    for q in (50, 90):
        exact = percentile(values, q)
        assert exact is not None
        assert histogram_percentile(histogram, q) == pytest.approx(exact, rel=0.022, abs=1)
    assert histogram_percentile({}, 50) is None


@pytest.mark.parametrize(
    ("costs", "text"),
    [
        (["0.40"], "0.40"),
        (["0.21", "0.23"], "0.44"),
        (["3"], "3"),
        ([], "0"),
        (["1.5", "2"], "3.5"),
    ],
)
def test_cost_text_is_the_exact_sum_as_written(costs: list[str], text: str) -> None:
    exact = sum((Decimal(c) for c in costs), Decimal(0))
    places = max((cost_places(Decimal(c)) for c in costs), default=0)
    assert money(sum(micro_usd(Decimal(c)) for c in costs), places) == str(exact) == text


def test_a_window_counts_the_whole_utc_days_it_touches() -> None:
    start = datetime(2026, 11, 2, tzinfo=UTC)
    assert days_of(Window(start, start + timedelta(days=2))) == (
        start.date(),
        start.date() + timedelta(days=2),
    )
    inner = Window(start + timedelta(hours=5), start + timedelta(days=1, hours=1))
    assert days_of(inner) == (start.date(), start.date() + timedelta(days=2))


def _evaluation(seq: int, at: datetime, conclusion: str, classes: frozenset[str]) -> EvaluationFact:
    return EvaluationFact(seq, at, "docs-bot", "acme/web", 7, "a" * 40, conclusion, False, classes)


def test_a_later_evaluation_moves_the_pr_figures_on_its_first_day() -> None:
    first = on_evaluation(PrState(), _evaluation(1, DAY, "failure", frozenset({"pricing"})))
    state = first.states[("acme/web", 7)]
    assert first.counts == {
        ("docs-bot", ALL, DAY.date()): Counts(evaluated=1, failed=1),
        ("docs-bot", "pricing", DAY.date()): Counts(evaluated=1, failed=1),
    }
    later = on_evaluation(
        state, _evaluation(2, DAY + timedelta(days=3), "success", frozenset({"terraform"}))
    )
    # Fixed on a later day: the PR stops counting as failed on its first day, and joins terraform.
    assert later.counts == {
        ("docs-bot", ALL, DAY.date()): Counts(failed=-1),
        ("docs-bot", "pricing", DAY.date()): Counts(failed=-1),
        ("docs-bot", "terraform", DAY.date()): Counts(evaluated=1),
    }
