"""Scorecards: what an agent's audited record says, per agent and per agent × rule class.

Definitions (docs/agent-ops.md says the same):
- evaluated: distinct PRs with an evaluation in the window;
- merged: merge and bypass_merge records in the window; bypassed: the bypass_merge ones;
- blocked: distinct PRs with an evaluation Cedar denied (tier `blocked`) in the window;
- failed: distinct PRs whose last evaluation in the window concluded `failure` (blocked included);
- reverted: merges in the window that a later merged PR reverts (by merge SHA or PR number,
  whoever merged the revert, whenever), a critical error of the original agent;
- approval latency: per merged PR with a counted approval, last counted approval − first
  evaluation of the merged head, at least 0 (an approval carried from an earlier commit waited
  on nothing); p50/p90 by nearest rank;
- evaluated with run ID: evaluated PRs whose evaluation or merge in the window named a run;
- run-ID coverage: % of merges with a run ID; cost per merge: sum of `Agent-Run-Cost-USD` over
  merges ÷ merges (merges without a cost add nothing and are counted in `merges_without_cost`);
- analyze calls: `POST /api/analyze` calls admitted past the rate limit (agent level only);
- waivers: `/countersign waive` given on the agent's PRs in the window, also per rule
  (`waivers_by_rule`): a rule waived often is a rule to fix.
A PR belongs to a rule class (`terraform`, `pricing`, … the rule id's prefix) when one of its
findings has that prefix. Pure.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from app.agentops.facts import (
    AnalyzeCallFact,
    EvaluationFact,
    Fact,
    MergeFact,
    WaiverFact,
    rule_class,
)
from app.agentops.reverts import pull_key


@dataclass(frozen=True)
class Window:
    """[since, until): events at or after `since` and before `until`."""

    since: datetime
    until: datetime

    def holds(self, at: datetime) -> bool:
        return self.since <= at < self.until

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86_400


class Scorecard(BaseModel):
    """One agent's (or one agent × rule class's) figures over a window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    agent_id: str
    rule_class: str | None = None
    """None: every PR of the agent."""
    since: datetime
    until: datetime
    evaluated: int = 0
    evaluated_with_run_id: int = 0
    merged: int = 0
    blocked: int = 0
    """Blocked by policy: PRs with an evaluation Cedar denied (tier `blocked`)."""
    failed: int = 0
    """PRs whose last evaluation concluded `failure` (blocked by policy or not)."""
    bypassed: int = 0
    reverted: int = 0
    reverted_pct: float = 0.0
    approval_latency_p50_seconds: float | None = None
    approval_latency_p90_seconds: float | None = None
    run_id_coverage_pct: float | None = None
    """None when nothing merged."""
    cost_usd: str = "0"
    cost_per_merge_usd: float | None = None
    merges_without_cost: int = 0
    analyze_calls: int | None = None
    """Agent level only (a pre-flight has no PR and so no rule class): None on class rows."""
    reverted_prs: tuple[str, ...] = ()
    """`owner/repo#N` of the reverted merges, so the figure can be checked."""
    waivers: int = 0
    """Waivers given on the agent's PRs (of this rule class) in the window."""
    waivers_by_rule: dict[str, int] = {}
    """Rule id → waivers given: a rule waived often is a rule to fix."""


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (`q` in 0..100) of `values`; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def reverted_keys(merges: Iterable[MergeFact]) -> set[tuple[str, int]]:
    """(repo, pr) of every merge that a later merge reverts (by its merge SHA or PR number)."""
    ordered = sorted(merges, key=lambda m: m.seq)
    by_pull = {pull_key(m.repo, m.pr): (m.repo, m.pr, m.seq) for m in ordered}
    out: set[tuple[str, int]] = set()
    for i, revert in enumerate(ordered):
        if not revert.reverts:
            continue
        for ref in revert.reverts.pulls:
            target = by_pull.get(ref)
            if target is not None and target[2] < revert.seq:
                out.add((target[0], target[1]))
        if revert.reverts.commits:
            for original in ordered[:i]:
                if revert.reverts.names_commit(original.merge_sha):
                    out.add((original.repo, original.pr))
    return out


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 3) if whole else 0.0


def _card(
    agent_id: str,
    rule_class: str | None,
    window: Window,
    evaluations: Sequence[EvaluationFact],
    merges: Sequence[MergeFact],
    reverted: set[tuple[str, int]],
    analyze_calls: int | None,
    waivers: Sequence[WaiverFact] = (),
) -> Scorecard:
    last: dict[tuple[str, int], EvaluationFact] = {}
    blocked: set[tuple[str, int]] = set()
    for ev in sorted(evaluations, key=lambda e: e.seq):
        last[(ev.repo, ev.pr)] = ev
        if ev.blocked:
            blocked.add((ev.repo, ev.pr))
    failed = sum(1 for ev in last.values() if ev.conclusion == "failure")
    named = {(e.repo, e.pr) for e in evaluations if e.run_id}
    named |= {(m.repo, m.pr) for m in merges if m.run_id}
    latencies = [
        max(0.0, (m.last_approval_at - m.head_first_evaluated_at).total_seconds())
        for m in merges
        if m.last_approval_at is not None and m.head_first_evaluated_at is not None
    ]
    costs = [m.cost_usd for m in merges if m.cost_usd is not None]
    total = sum(costs, Decimal(0))
    reverted_prs = sorted(f"{m.repo}#{m.pr}" for m in merges if (m.repo, m.pr) in reverted)
    n = len(merges)
    return Scorecard(
        agent_id=agent_id,
        rule_class=rule_class,
        since=window.since,
        until=window.until,
        evaluated=len(last),
        evaluated_with_run_id=len(named & last.keys()),
        merged=n,
        blocked=len(blocked),
        failed=failed,
        bypassed=sum(1 for m in merges if m.bypass),
        reverted=len(reverted_prs),
        reverted_pct=_pct(len(reverted_prs), n),
        approval_latency_p50_seconds=percentile(latencies, 50),
        approval_latency_p90_seconds=percentile(latencies, 90),
        run_id_coverage_pct=_pct(sum(1 for m in merges if m.run_id), n) if n else None,
        cost_usd=str(total),
        cost_per_merge_usd=round(float(total / n), 6) if n else None,
        merges_without_cost=n - len(costs),
        analyze_calls=analyze_calls,
        reverted_prs=tuple(reverted_prs),
        waivers=len(waivers),
        waivers_by_rule={
            r: sum(1 for w in waivers if w.rule == r) for r in sorted({w.rule for w in waivers})
        },
    )


def scorecards(
    records: Iterable[Fact], window: Window, *, by_class: bool = True
) -> list[Scorecard]:
    """Per agent (rule_class None) and, with `by_class`, per agent × rule class, sorted by
    agent then class. Merges outside the window still count as reverts of earlier ones."""
    evaluations: dict[str, list[EvaluationFact]] = defaultdict(list)
    merges: dict[str, list[MergeFact]] = defaultdict(list)
    calls: dict[str, int] = defaultdict(int)
    waived: dict[str, list[WaiverFact]] = defaultdict(list)
    every_merge: list[MergeFact] = []
    for fact in records:
        if isinstance(fact, MergeFact):
            every_merge.append(fact)
            if fact.agent_id and window.holds(fact.at):
                merges[fact.agent_id].append(fact)
        elif isinstance(fact, EvaluationFact):
            if window.holds(fact.at):
                evaluations[fact.agent_id].append(fact)
        elif isinstance(fact, AnalyzeCallFact) and window.holds(fact.at):
            calls[fact.agent_id] += 1
        elif isinstance(fact, WaiverFact) and window.holds(fact.at):
            waived[fact.agent_id].append(fact)
    reverted = reverted_keys(every_merge)
    out: list[Scorecard] = []
    for agent in sorted(set(evaluations) | set(merges) | set(calls) | set(waived)):
        evs, mgs, wvs = evaluations.get(agent, []), merges.get(agent, []), waived.get(agent, [])
        out.append(_card(agent, None, window, evs, mgs, reverted, calls.get(agent, 0), wvs))
        if not by_class:
            continue
        classes = sorted(
            {c for e in evs for c in e.rule_classes}
            | {c for m in mgs for c in m.rule_classes}
            | {rule_class(w.rule) for w in wvs}
        )
        for cls in classes:
            prs = {(e.repo, e.pr) for e in evs if cls in e.rule_classes}
            out.append(
                _card(
                    agent,
                    cls,
                    window,
                    [e for e in evs if (e.repo, e.pr) in prs],
                    [m for m in mgs if cls in m.rule_classes],
                    reverted,
                    None,
                    [w for w in wvs if rule_class(w.rule) == cls],
                )
            )
    return out
