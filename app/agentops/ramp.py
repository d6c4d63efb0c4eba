"""The trust ramp: a tier drops only when the agent's audited record has earned it.

An entry applies when the computed tier is its `from_tier` and its selectors cover every
finding at that tier; then each gate is checked against the record over `window_days` (a
revert or a bypass in the window fails its gate at once: that is the demotion). Tier 3 and
`blocked` never graduate (config forbids such entries; `blocked` is never an int tier). Cedar
has already decided `propose`: the ramp only lowers the approvals needed. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.agentops.history import AgentHistory
from app.agentops.scorecard import Scorecard
from app.config.agent_ops import GraduationEntry, GraduationGates
from app.core.models import Change
from app.core.report import Finding, GateFigures, Graduation, Tier


def _covered(entry: GraduationEntry, finding: Finding, changes: Sequence[Change]) -> bool:
    if entry.covers_rule(finding.rule):
        return True
    if not entry.changes:
        return False
    targets = [
        c
        for c in changes
        if c.file == finding.file and (finding.address is None or c.address == finding.address)
    ]
    return bool(targets) and all(entry.covers_change(c.kind, c.op) for c in targets)


def figures_of(card: Scorecard, days: int) -> GateFigures:
    return GateFigures(
        window_days=days,
        merged=card.merged,
        reverted=card.reverted,
        reverted_pct=card.reverted_pct,
        bypassed=card.bypassed,
        run_id_coverage_pct=card.run_id_coverage_pct,
        cost_per_merge_usd=card.cost_per_merge_usd,
        merges_without_cost=card.merges_without_cost,
    )


def failed_gates(gates: GraduationGates, fig: GateFigures) -> list[str]:
    """Each gate that does not hold, as a sentence with the figures."""
    days = fig.window_days
    out: list[str] = []
    if fig.merged < gates.min_merged:
        out.append(f"{fig.merged} merged in {days} days (needs {gates.min_merged})")
    if fig.reverted and fig.reverted_pct > gates.max_reverted_pct:
        out.append(
            f"{fig.reverted} reverted in {days} days "
            f"({fig.reverted_pct:g}% > {gates.max_reverted_pct:g}%)"
        )
    if fig.bypassed > gates.max_bypass:
        out.append(f"{fig.bypassed} bypasses in {days} days (max {gates.max_bypass})")
    coverage = fig.run_id_coverage_pct or 0.0
    if fig.merged and coverage < gates.min_run_id_coverage_pct:
        out.append(f"run-ID coverage {coverage:g}% (needs {gates.min_run_id_coverage_pct:g}%)")
    limit = gates.max_cost_per_merge_usd
    if limit is not None:
        if fig.merges_without_cost:
            out.append(f"{fig.merges_without_cost} merges without Agent-Run-Cost-USD")
        elif fig.cost_per_merge_usd is not None and fig.cost_per_merge_usd > limit:
            out.append(f"${fig.cost_per_merge_usd:g} per merge (max ${limit:g})")
    return out


def graduation_for(
    entries: Sequence[GraduationEntry],
    tier: Tier,
    findings: Sequence[Finding],
    changes: Sequence[Change],
    history: AgentHistory | None,
) -> Graduation | None:
    """The first entry that applies, and whether its gates hold; None when none applies."""
    found = applicable_entry(entries, tier, findings, changes)
    if found is None:
        return None
    index, entry = found
    days = entry.gates.window_days
    card = history.records.get(days) if history is not None else None
    return judge_entry(index, entry, None if card is None else figures_of(card, days))


def applicable_entry(
    entries: Sequence[GraduationEntry],
    tier: Tier,
    findings: Sequence[Finding],
    changes: Sequence[Change],
) -> tuple[int, GraduationEntry] | None:
    """The first entry whose `from_tier` is the tier and whose selectors cover every finding at
    that tier (the replay asks this of stored findings too)."""
    if not isinstance(tier, int):
        return None
    for index, entry in enumerate(entries):
        if entry.from_tier != tier:
            continue
        at_tier = [f for f in findings if f.tier == tier]
        if at_tier and all(_covered(entry, f, changes) for f in at_tier):
            return index, entry
    return None


def judge_entry(index: int, entry: GraduationEntry, fig: GateFigures | None) -> Graduation:
    """Whether the entry's gates hold over the figures; without figures never graduated."""
    tier = entry.from_tier
    days = entry.gates.window_days
    base = {"entry": index, "from_tier": entry.from_tier, "to_tier": entry.to_tier}
    if fig is None:
        return Graduation(
            graduated=False,
            **base,
            failed_gates=("no audited record available",),
            summary=f"not graduated (stays tier {tier}): no audited record available",
        )
    failed = failed_gates(entry.gates, fig)
    if failed:
        return Graduation(
            graduated=False,
            **base,
            figures=fig,
            failed_gates=tuple(failed),
            summary=f"not graduated (stays tier {tier}): {'; '.join(failed)}",
        )
    return Graduation(
        graduated=True,
        **base,
        figures=fig,
        summary=(
            f"graduated: {fig.merged} merged in {days} days, {fig.reverted} reverted, "
            f"{fig.bypassed} bypass{'es' if fig.bypassed != 1 else ''} "
            f"(tier {entry.from_tier} → {entry.to_tier})"
        ),
    )
