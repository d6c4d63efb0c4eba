"""What Cedar sees of a change set when an agent proposes it (the `propose` context)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.models import SEVERITIES, Change
from app.core.report import Finding


@dataclass(frozen=True)
class ProposeSummary:
    kinds: frozenset[str] = frozenset()
    ops: frozenset[str] = frozenset()
    max_severity: str = "info"
    max_price_delta_pct: float = 0.0
    environments: frozenset[str] = frozenset()
    touches_governance: bool = False
    deletes: bool = False
    change_count: int = 0

    def context(self, repo_allowed: bool) -> dict[str, Any]:
        return {
            "repo_allowed": repo_allowed,
            "kinds": sorted(self.kinds),
            "ops": sorted(self.ops),
            "max_severity": self.max_severity,
            "max_severity_rank": SEVERITIES.index(self.max_severity),
            "max_price_delta_bp": round(abs(self.max_price_delta_pct) * 100),
            "environments": sorted(self.environments),
            "touches_governance": self.touches_governance,
            "deletes": self.deletes,
            "change_count": self.change_count,
        }


UNBOUNDED = 100_000.0


def _delta(change: Change) -> float:
    """The largest |price move| of a change: the record's main price or any other amount it
    states (`max_delta_pct`: annual price, tier, percentage discount)."""
    facts = change.facts
    moves = [
        abs(float(v))
        for v in (facts.get("price_delta_pct"), facts.get("max_delta_pct"))
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    if moves:
        return max(moves)
    # A removed or added price record, or a price to/from zero, is an unbounded change.
    if change.kind == "pricing" and change.op in ("create", "delete"):
        return 0.0
    if change.kind == "pricing" and facts.get("price_before_num") == 0:
        return UNBOUNDED
    # A bigger amount off or a longer coupon, or a graduated/volume switch: no bound is known.
    if change.kind == "pricing" and (
        facts.get("discount_increased") is True or facts.get("tiers_mode_changed") is True
    ):
        return UNBOUNDED
    return 0.0


def summarize(changes: Sequence[Change], findings: Sequence[Finding]) -> ProposeSummary:
    """Kinds, ops, worst severity, largest |price delta|, environments, governance, deletes."""
    worst = max((SEVERITIES.index(f.severity) for f in findings), default=0)
    kinds: set[str] = {c.kind for c in changes}
    # An unparseable file is analysed as text, but Cedar must see the kind it really is.
    kinds |= {str(c.facts["detected_kind"]) for c in changes if c.facts.get("detected_kind")}
    return ProposeSummary(
        kinds=frozenset(kinds),
        ops=frozenset(c.op for c in changes),
        max_severity=SEVERITIES[worst],
        max_price_delta_pct=max((_delta(c) for c in changes), default=0.0),
        environments=frozenset(
            str(c.facts["environment"]) for c in changes if c.facts.get("environment")
        ),
        touches_governance=any(
            c.kind == "governance" or c.facts.get("governance") for c in changes
        ),
        # A replace destroys the object before (or after) creating its successor: a delete too.
        deletes=any(c.op in ("delete", "replace") for c in changes),
        change_count=len(changes),
    )
