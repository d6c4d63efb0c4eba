"""Scorecards from the daily aggregates (app/agentops/aggregates.py) summed over a window's days:
the same `Scorecard` the full scan builds (app/agentops/scorecard.py), so the console, the CLI,
the metrics and the MCP tool render one definition. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, time, timedelta
from decimal import Decimal

from app.agentops.aggregates import ALL, MICRO, Counts, histogram_percentile
from app.agentops.facts import rule_class
from app.agentops.scorecard import Scorecard, Window

Pair = tuple[str, str]
"""(agent_id, rule class or ALL)."""


def days_of(window: Window) -> tuple[date, date]:
    """[first, last) UTC days covering the window: partial days at either end count whole."""
    since = window.since.astimezone(UTC)
    until = window.until.astimezone(UTC)
    last = until.date()
    if until.time() != time(0) or until == since:
        last += timedelta(days=1)
    return since.date(), last


@dataclass(frozen=True)
class Summed:
    """The aggregates summed over a window's days (what the store reads)."""

    counts: Mapping[Pair, Counts]
    latency: Mapping[Pair, Mapping[int, int]]
    waivers: Mapping[tuple[str, str], int]
    """(agent_id, rule) → waivers."""
    reverted_prs: Mapping[Pair, tuple[str, ...]]


def money(micro: int, places: int) -> str:
    """Micro-USD as the text the exact sum of the written costs prints ("0.40", "3", "0"):
    `places` decimals (at most 6, the precision kept)."""
    return str((Decimal(micro) / MICRO).quantize(Decimal(1).scaleb(-min(places, 6))))


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0


def card(agent: str, cls: str, window: Window, summed: Summed) -> Scorecard:
    """One scorecard (agent level when `cls` is ALL) from the summed rows."""
    c = summed.counts.get((agent, cls), Counts())
    histogram = summed.latency.get((agent, cls), {})
    total = Decimal(c.cost_micro_usd) / MICRO
    n = c.merged
    rules = {
        r: k
        for (a, r), k in sorted(summed.waivers.items())
        if a == agent and k > 0
        if cls == ALL or rule_class(r) == cls
    }
    return Scorecard(
        agent_id=agent,
        rule_class=None if cls == ALL else cls,
        since=window.since,
        until=window.until,
        evaluated=c.evaluated,
        evaluated_with_run_id=c.evaluated_with_run_id,
        merged=n,
        blocked=c.blocked,
        failed=c.failed,
        bypassed=c.bypassed,
        reverted=c.reverted,
        reverted_pct=_pct(c.reverted, n),
        approval_latency_p50_seconds=histogram_percentile(histogram, 50),
        approval_latency_p90_seconds=histogram_percentile(histogram, 90),
        run_id_coverage_pct=_pct(c.merges_with_run_id, n) if n else None,
        cost_usd=money(c.cost_micro_usd, c.cost_places),
        cost_per_merge_usd=round(float(total / n), 6) if n else None,
        merges_without_cost=n - c.merges_with_cost,
        analyze_calls=c.analyze_calls if cls == ALL else None,
        reverted_prs=summed.reverted_prs.get((agent, cls), ()),
        waivers=c.waived,
        waivers_by_rule=rules,
    )


def _shows(c: Counts) -> bool:
    """A row with something to show (the full scan lists agents with any such event)."""
    return bool(c.evaluated or c.merged or c.waived or c.analyze_calls)


def cards(summed: Summed, window: Window, *, by_class: bool = True) -> list[Scorecard]:
    """Per agent and, with `by_class`, per agent × rule class, sorted by agent then class."""
    pairs = sorted(p for p, c in summed.counts.items() if _shows(c) and (by_class or p[1] == ALL))
    return [card(agent, cls, window, summed) for agent, cls in pairs]
