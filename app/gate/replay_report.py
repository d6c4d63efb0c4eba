"""What a replay found, counted and shown: JSON, a plain table, and Markdown for the check run.

Pure. `run_replay` judges each stored evaluation (`app.gate.replay.rejudge`) until the caller's
`stop` says the time is up; `summarize` counts the moves (tier up/down, newly blocked, merges
whose approvals would not suffice, graduations gained/lost, findings per rule) and lists the PRs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.report import Tier
from app.gate.render.escape import esc
from app.gate.replay import Proposal, Rejudged, Stored, rejudge


@dataclass(frozen=True)
class RuleMoves:
    rule: str
    added: int = 0
    removed: int = 0
    retiered: int = 0


@dataclass(frozen=True)
class ReplaySummary:
    judged: int
    changed: tuple[Rejudged, ...]
    tier_up: int = 0
    tier_down: int = 0
    newly_blocked: int = 0
    approvals_short: int = 0
    graduations_gained: int = 0
    graduations_lost: int = 0
    not_replayable: dict[str, int] = field(default_factory=dict)
    rules: tuple[RuleMoves, ...] = ()
    partial: dict[str, int] = field(default_factory=dict)
    cut: tuple[str, ...] = ()
    """Why the replay covers less than asked (count or time bound), empty when it does not."""


def run_replay(
    stored: Iterable[Stored], proposal: Proposal, *, stop: Callable[[], bool] | None = None
) -> tuple[list[Rejudged], bool]:
    """Judge each evaluation in turn; (results, True) when `stop` cut the run short."""
    results: list[Rejudged] = []
    for item in stored:
        if stop is not None and stop():
            return results, True
        results.append(rejudge(item, proposal))
    return results, False


def _rank(tier: Tier | None) -> int:
    return 4 if tier == "blocked" else (tier if isinstance(tier, int) else -1)


def summarize(results: Sequence[Rejudged], *, cut: Sequence[str] = ()) -> ReplaySummary:
    """Count what moved; every evaluation is judged, not replayable, or cut (said in `cut`)."""
    why: Counter[str] = Counter()
    partial: Counter[str] = Counter()
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    retiered: Counter[str] = Counter()
    judged = [r for r in results if r.not_replayable is None]
    for r in results:
        if r.not_replayable is not None:
            why[r.not_replayable] += 1
        partial.update(r.partial)
        added.update(f.rule for f in r.added)
        removed.update(f.rule for f in r.removed)
        retiered.update(after.rule for _before, after in r.retiered)
    rules = tuple(
        RuleMoves(rule, added[rule], removed[rule], retiered[rule])
        for rule in sorted({*added, *removed, *retiered})
    )
    return ReplaySummary(
        judged=len(judged),
        changed=tuple(r for r in judged if r.changed),
        tier_up=sum(_rank(r.after) > _rank(r.before) for r in judged),
        tier_down=sum(_rank(r.after) < _rank(r.before) for r in judged),
        newly_blocked=sum(r.newly_blocked for r in judged),
        approvals_short=sum(bool(r.approvals_short) for r in judged),
        graduations_gained=sum(r.graduation == "gained" for r in judged),
        graduations_lost=sum(r.graduation == "lost" for r in judged),
        not_replayable=dict(sorted(why.items())),
        rules=rules,
        partial=dict(sorted(partial.items())),
        cut=tuple(cut),
    )


def _tier_text(tier: Tier | None) -> str:
    return "—" if tier is None else str(tier)


def _item_json(r: Rejudged) -> dict[str, Any]:
    s = r.stored
    return {
        "repo": s.repo,
        "pr": s.pr,
        "url": s.url,
        "head_sha": s.head_sha,
        "evaluation_seq": s.seq,
        "merged": s.merged,
        "tier_before": r.before,
        "tier_after": r.after,
        "newly_blocked": r.newly_blocked,
        "findings_added": [f.model_dump(mode="json") for f in r.added],
        "findings_removed": [f.model_dump(mode="json") for f in r.removed],
        "findings_retiered": [
            {"before": b.model_dump(mode="json"), "after": a.model_dump(mode="json")}
            for b, a in r.retiered
        ],
        "graduation": r.graduation,
        "approvals_short": list(r.approvals_short),
        "partial": list(r.partial),
    }


def to_json(summary: ReplaySummary) -> dict[str, Any]:
    """The replay as data (`countersign replay --format json`, the audit event's `replay`)."""
    return {
        "judged": summary.judged,
        "changed": len(summary.changed),
        "tier_up": summary.tier_up,
        "tier_down": summary.tier_down,
        "newly_blocked": summary.newly_blocked,
        "merges_approvals_short": summary.approvals_short,
        "graduations_gained": summary.graduations_gained,
        "graduations_lost": summary.graduations_lost,
        "not_replayable": summary.not_replayable,
        "partial": summary.partial,
        "cut": list(summary.cut),
        "rules": [
            {"rule": m.rule, "added": m.added, "removed": m.removed, "retiered": m.retiered}
            for m in summary.rules
        ],
        "prs": [_item_json(r) for r in summary.changed],
    }


def _counts(summary: ReplaySummary) -> list[str]:
    return [
        f"{summary.judged} evaluations judged, {len(summary.changed)} would change",
        f"tier up {summary.tier_up}, tier down {summary.tier_down}, "
        f"newly blocked {summary.newly_blocked}",
        f"merges whose approvals would no longer suffice: {summary.approvals_short}",
        f"graduations gained {summary.graduations_gained}, lost {summary.graduations_lost}",
    ]


def _line(r: Rejudged) -> str:
    s = r.stored
    parts = [f"tier {_tier_text(r.before)} → {_tier_text(r.after)}"]
    if r.added:
        parts.append("+" + ", +".join(sorted({f.rule for f in r.added})))
    if r.removed:
        parts.append("−" + ", −".join(sorted({f.rule for f in r.removed})))
    if r.retiered:
        parts.append("re-tiered " + ", ".join(sorted({a.rule for _b, a in r.retiered})))
    if r.graduation:
        parts.append(f"graduation {r.graduation}")
    if r.approvals_short:
        parts.append("merged without " + "; ".join(r.approvals_short))
    merged = " (merged)" if s.merged else ""
    return f"{s.repo}#{s.pr}{merged} {s.head_sha[:7]}: " + "; ".join(parts)


def to_table(summary: ReplaySummary, *, limit: int = 200) -> str:
    """Plain text for a terminal."""
    lines = [*_counts(summary)]
    for why, n in summary.not_replayable.items():
        lines.append(f"not replayable: {why}: {n}")
    for note, n in summary.partial.items():
        lines.append(f"partly judged: {note}: {n}")
    lines.extend(f"cut: {c}" for c in summary.cut)
    if summary.rules:
        lines += ["", f"{'rule':<40} {'added':>6} {'removed':>8} {'re-tiered':>10}"]
        lines += [
            f"{m.rule:<40} {m.added:>6} {m.removed:>8} {m.retiered:>10}" for m in summary.rules
        ]
    if summary.changed:
        lines.append("")
        lines += [f"{_line(r)}  {r.stored.url}" for r in summary.changed[:limit]]
        if len(summary.changed) > limit:
            lines.append(f"… and {len(summary.changed) - limit} more")
    return "\n".join(lines)


def to_markdown(summary: ReplaySummary, *, title: str, limit: int = 20) -> str:
    """Markdown for the check run and `--format markdown`; PR lines link to the PR."""
    out = [f"### {esc(title, 400)}", ""]
    out += [f"- {esc(c, 400)}" for c in _counts(summary)]
    out += [f"- not replayable: {esc(w, 400)}: {n}" for w, n in summary.not_replayable.items()]
    out += [f"- partly judged: {esc(w, 400)}: {n}" for w, n in summary.partial.items()]
    out += [f"- **cut**: {esc(c, 400)}" for c in summary.cut]
    if summary.rules:
        out += ["", "| rule | added | removed | re-tiered |", "|---|---:|---:|---:|"]
        out += [
            f"| {esc(m.rule, 400)} | {m.added} | {m.removed} | {m.retiered} |"
            for m in summary.rules
        ]
    if summary.changed:
        out.append("")
        for r in summary.changed[:limit]:
            out.append(f"- [{esc(_line(r), 400)}]({r.stored.url})")
        if len(summary.changed) > limit:
            out.append(f"- … and {len(summary.changed) - limit} more")
    return "\n".join(out) + "\n"
