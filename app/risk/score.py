"""Severity arithmetic: default tiers, the production bump, the risk score and the PR's tier.

The score gives each level a band and moves within the band by count, so it is monotonic (adding a
finding never lowers it) and one finding of a higher level always outscores any number of lower
ones: a critical is at least 90, while highs stop at 89.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from app.core.models import SEVERITIES, Severity
from app.core.report import Finding, Risk, Tier

DEFAULT_TIER: dict[Severity, int] = {"info": 0, "low": 1, "medium": 1, "high": 2, "critical": 3}
RANK: dict[Severity, int] = {s: i for i, s in enumerate(SEVERITIES)}

# level -> (lowest score, highest score, points per extra finding of that level)
BANDS: dict[Severity, tuple[int, int, int]] = {
    "info": (1, 9, 1),
    "low": (10, 29, 3),
    "medium": (30, 59, 5),
    "high": (60, 89, 5),
    "critical": (90, 100, 2),
}


def default_tier(severity: Severity) -> int:
    return DEFAULT_TIER[severity]


def raised(severity: Severity) -> Severity:
    """One level up; critical stays critical."""
    return SEVERITIES[min(RANK[severity] + 1, len(SEVERITIES) - 1)]


def highest(severities: Iterable[Severity]) -> Severity | None:
    ranked = [RANK[s] for s in severities]
    return SEVERITIES[max(ranked)] if ranked else None


def score_of(severities: Sequence[Severity]) -> int:
    """0 with no findings; else within the top level's band, growing with every finding."""
    top = highest(severities)
    if top is None:
        return 0
    low, high, step = BANDS[top]
    counts = Counter(severities)
    extra = step * (counts[top] - 1) + sum(n for s, n in counts.items() if RANK[s] < RANK[top])
    return min(high, low + extra)


def risk_summary(findings: Sequence[Finding]) -> Risk:
    severities = [f.severity for f in findings]
    return Risk(level=highest(severities) or "info", score=score_of(severities))


def tier_for(findings: Sequence[Finding]) -> int:
    """The highest finding tier (0 with no findings). A "blocked" finding tier counts as 3."""
    return max((_numeric(f.tier) for f in findings), default=0)


def _numeric(tier: Tier) -> int:
    return tier if isinstance(tier, int) else 3
