"""The check's Terraform plans section: plans judged together, and plans that do not count with
the reason (`app.gate.plan_trust`), so a posted plan is never dropped without a word."""

from __future__ import annotations

from app.core.report import Report
from app.gate.render.escape import esc

IGNORED_SHOWN = 10
"""Ignored plans listed by name; the rest are counted."""


def plan_lines(report: Report) -> list[str]:
    """Plans judged together and plans that do not count: a plan is never dropped silently."""
    plans = report.plans
    if plans is None or not (plans.several or plans.ignored):
        return []
    lines = ["**Terraform plans**", ""]
    for directory, digests in sorted(plans.several.items()):
        shown = ", ".join(f"`{d[:12]}`" for d in digests[:5])
        lines.append(
            f"- {len(digests)} different plans of {esc(directory or '.')} at "
            f"`{plans.head_sha[:7]}` ({shown}) are judged together: every change of each "
            "counts, so the riskier plan decides"
        )
    lines += [f"- ignored: {esc(why, 400)}" for why in plans.ignored[:IGNORED_SHOWN]]
    more = len(plans.ignored) - IGNORED_SHOWN
    return [*lines, *([f"- … {more} more ignored plans"] if more > 0 else []), ""]
