"""Daily scorecard aggregates: what one audited fact adds to the agent × rule class × UTC-day
counters, so the scorecards read rows bounded by agents × days instead of every event. Pure.

The store keeps these counters in the audit append's own transaction
(app/store/audit/aggregates.py); `countersign audit rebuild-aggregates` folds the chain through
the same functions, so the two can never disagree (a property test checks it).

Counters are additive over days. Per-PR figures are therefore counted once, on the PR's
*anchor day* (the UTC day of its first evaluation), with the PR's latest state:
- evaluated, blocked, failed, evaluated_with_run_id: on the anchor day of the evaluating agent;
  a PR belongs to the rule classes of every finding any of its evaluations reported;
- merged, bypassed, merges with/without a run ID, cost, approval latency: on the merge's day,
  in the merge's own findings' classes (a merge without an agent counts nowhere);
- reverted: on the reverted merge's day, when a later merge reverts it (once per merge);
- waivers: on the waiver's day, in the waived rule's class; analyze calls: agent level only.
Over a window holding whole PR lifetimes (all time, say) this is exactly the scorecard's
definition (app/agentops/scorecard.py); a PR whose evaluations straddle a window's start counts in
the window of its first evaluation. Approval latency goes into a log-bucketed histogram (below).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import date
from decimal import Decimal

from app.agentops.facts import (
    AnalyzeCallFact,
    EvaluationFact,
    MergeFact,
    WaiverFact,
    rule_class,
)
from app.agentops.reverts import pull_key

ALL = ""
"""The rule-class key of an agent's whole-agent row (rule_class None on a Scorecard)."""
BUCKETS_PER_DOUBLING = 16
"""Latency histogram: bucket 0 holds [0, 1) s, bucket b ≥ 1 holds [2^((b-1)/16), 2^(b/16)) s and
reads back as its geometric middle, so a percentile is off by at most 2^(1/32) − 1 ≈ 2.2 %
(relative; < 1 s absolute in bucket 0). Fixed buckets merge by addition, across days and rows."""
MICRO = Decimal(1_000_000)
"""Costs are kept in micro-USD (an integer adds exactly on every database)."""


@dataclass(frozen=True, slots=True)
class Counts:
    """The additive counters of one agent × rule class × day row."""

    evaluated: int = 0
    evaluated_with_run_id: int = 0
    blocked: int = 0
    failed: int = 0
    merged: int = 0
    bypassed: int = 0
    reverted: int = 0
    waived: int = 0
    merges_with_run_id: int = 0
    merges_without_run_id: int = 0
    merges_with_cost: int = 0
    cost_micro_usd: int = 0
    analyze_calls: int = 0
    cost_places: int = 0
    """The most decimal places of a cost ("0.40": 2), so a total prints as the exact sum of
    the written costs would; merged by max, not added (MAXED)."""

    def __add__(self, other: Counts) -> Counts:
        a, b = _values(self), _values(other)
        return Counts(*(max(x, y) if m else x + y for x, y, m in zip(a, b, _IS_MAX, strict=True)))

    def __sub__(self, other: Counts) -> Counts:
        """The change from `other` to self (a max only grows: the larger side stays)."""
        a, b = _values(self), _values(other)
        return Counts(*(max(x, y) if m else x - y for x, y, m in zip(a, b, _IS_MAX, strict=True)))

    def __bool__(self) -> bool:
        return any(_values(self))


COUNTERS: tuple[str, ...] = tuple(f.name for f in fields(Counts))
MAXED: frozenset[str] = frozenset({"cost_places"})
"""Counters combined by max (across events, days and rows) rather than added."""
_IS_MAX: tuple[bool, ...] = tuple(n in MAXED for n in COUNTERS)
_values: Callable[[Counts], tuple[int, ...]] = operator.attrgetter(*COUNTERS)


RowKey = tuple[str, str, date]
"""(agent_id, rule class or ALL, UTC day)."""


@dataclass(frozen=True, slots=True)
class PrState:
    """What the counters remember of one PR (`repo#pr`): enough to move its figures when a
    later event changes them, never the events themselves."""

    agent_id: str | None = None
    day: date | None = None
    """Anchor: the UTC day of the first evaluation (None: never evaluated)."""
    classes: frozenset[str] = frozenset()
    conclusion: str = ""
    blocked: bool = False
    named: bool = False
    """An evaluation or merge of the PR named an agent run."""
    merge_agent: str | None = None
    merge_day: date | None = None
    merge_classes: frozenset[str] = frozenset()
    merge_sha: str | None = None
    merge_seq: int = 0
    reverted: bool = False


@dataclass(frozen=True, slots=True)
class Increments:
    """What one fact adds: counter deltas, latency observations, waivers per rule, and the PR
    states to write (by `repo#pr` key)."""

    counts: dict[RowKey, Counts]
    latency: dict[tuple[str, str, date, int], int]
    waivers: dict[tuple[str, date, str], int]
    states: dict[tuple[str, int], PrState]


def latency_bucket(seconds: float) -> int:
    """The histogram bucket of a latency (see BUCKETS_PER_DOUBLING)."""
    if seconds < 1:
        return 0
    return 1 + math.floor(BUCKETS_PER_DOUBLING * math.log2(seconds))


def bucket_value(bucket: int) -> float:
    """What a bucket reads back as: its geometric middle, in seconds (0 for bucket 0)."""
    if bucket <= 0:
        return 0.0
    return float(2 ** ((bucket - 0.5) / BUCKETS_PER_DOUBLING))


def histogram_percentile(histogram: Mapping[int, int], q: float) -> float | None:
    """Nearest-rank percentile (`q` in 0..100) over a bucket → count histogram."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q / 100 * total))
    seen = 0
    for bucket in sorted(histogram):
        seen += histogram[bucket]
        if seen >= rank:
            return bucket_value(bucket)
    return bucket_value(max(histogram))


def micro_usd(cost: Decimal) -> int:
    """A cost in whole micro-USD (more than 6 decimal places round half-even)."""
    return int((cost * MICRO).to_integral_value())


def cost_places(cost: Decimal) -> int:
    """Decimal places as written ("0.40" → 2), so totals print as the exact sum would."""
    exponent = cost.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _pr_counts(state: PrState) -> dict[RowKey, Counts]:
    """A PR's whole contribution to the evaluation counters, on its anchor day."""
    if state.agent_id is None or state.day is None:
        return {}
    one = Counts(
        evaluated=1,
        evaluated_with_run_id=int(state.named),
        blocked=int(state.blocked),
        failed=int(state.conclusion == "failure"),
    )
    return {(state.agent_id, cls, state.day): one for cls in (ALL, *sorted(state.classes))}


def _counted(s: PrState) -> tuple[object, ...]:
    """What of a PR's state its counters show (most re-evaluations change none of it)."""
    return (s.agent_id, s.day, s.classes, s.conclusion == "failure", s.blocked, s.named)


def _delta(old: PrState, new: PrState) -> dict[RowKey, Counts]:
    if _counted(old) == _counted(new):
        return {}
    before, after = _pr_counts(old), _pr_counts(new)
    out: dict[RowKey, Counts] = {}
    for key in before.keys() | after.keys():
        change = after.get(key, Counts()) - before.get(key, Counts())
        if change:
            out[key] = change
    return out


def _merge_rows(fact: MergeFact, counts: Counts) -> dict[RowKey, Counts]:
    if not fact.agent_id:
        return {}
    day = fact.at.date()
    return {(fact.agent_id, cls, day): counts for cls in (ALL, *sorted(fact.rule_classes))}


def on_evaluation(state: PrState, fact: EvaluationFact) -> Increments:
    """An evaluation: anchors the PR on its first day, then updates its latest state."""
    new = replace(
        state,
        agent_id=fact.agent_id,
        day=state.day if state.day is not None else fact.at.date(),
        classes=state.classes | fact.rule_classes,
        conclusion=fact.conclusion,
        blocked=state.blocked or fact.blocked,
        named=state.named or bool(fact.run_id),
    )
    return Increments(_delta(state, new), {}, {}, {(fact.repo, fact.pr): new})


def on_merge(
    state: PrState, fact: MergeFact, targets: Iterable[tuple[tuple[str, int], PrState]]
) -> Increments:
    """A merge: its own counters, the run it names (for the PR's evaluated-with-run-ID), and
    a `reverted` on each earlier merge it reverts (`targets`, found by the caller with
    `reverted_by`)."""
    named = bool(fact.run_id)
    counts = Counts(
        merged=1,
        bypassed=int(fact.bypass),
        merges_with_run_id=int(named),
        merges_without_run_id=int(not named),
        merges_with_cost=int(fact.cost_usd is not None),
        cost_micro_usd=micro_usd(fact.cost_usd) if fact.cost_usd is not None else 0,
        cost_places=cost_places(fact.cost_usd) if fact.cost_usd is not None else 0,
    )
    out = Increments(dict(_merge_rows(fact, counts)), {}, {}, {})
    approved, first = fact.last_approval_at, fact.head_first_evaluated_at
    if fact.agent_id and approved is not None and first is not None:
        wait = max(0.0, (approved - first).total_seconds())
        bucket = latency_bucket(wait)
        for agent, cls, day in _merge_rows(fact, counts):
            out.latency[(agent, cls, day, bucket)] = 1
    for key, target in targets:
        if target.reverted or target.merge_day is None or not target.merge_agent:
            continue
        for cls in (ALL, *sorted(target.merge_classes)):
            row = (target.merge_agent, cls, target.merge_day)
            out.counts[row] = out.counts.get(row, Counts()) + Counts(reverted=1)
        out.states[key] = replace(target, reverted=True)
    new = replace(
        out.states.get((fact.repo, fact.pr), state),
        named=state.named or named,
        merge_agent=fact.agent_id,
        merge_day=fact.at.date(),
        merge_classes=fact.rule_classes,
        merge_sha=(fact.merge_sha or "").lower() or None,
        merge_seq=fact.seq,
        reverted=False,
    )
    for row, change in _delta(state, new).items():
        out.counts[row] = out.counts.get(row, Counts()) + change
    out.states[(fact.repo, fact.pr)] = new
    return out


def reverted_by(fact: MergeFact) -> tuple[list[str], list[str]]:
    """(pull keys, lower-case commit prefixes) this merge reverts: where to look for targets."""
    return list(fact.reverts.pulls), [c.lower() for c in fact.reverts.commits]


def is_target(fact: MergeFact, key: tuple[str, int], state: PrState) -> bool:
    """Whether an earlier merge (`key`, `state`) is one this merge reverts."""
    if state.merge_day is None or state.merge_seq >= fact.seq:
        return False
    if pull_key(*key) in fact.reverts.pulls:
        return True
    return fact.reverts.names_commit(state.merge_sha)


def on_other(fact: AnalyzeCallFact | WaiverFact) -> Increments:
    """A pre-flight call (agent level) or a waiver (agent level, its rule's class, its rule)."""
    day = fact.at.date()
    if isinstance(fact, AnalyzeCallFact):
        return Increments({(fact.agent_id, ALL, day): Counts(analyze_calls=1)}, {}, {}, {})
    rows = {(fact.agent_id, cls, day): Counts(waived=1) for cls in (ALL, rule_class(fact.rule))}
    return Increments(rows, {}, {(fact.agent_id, day, fact.rule): 1}, {})
