"""The check's Terraform plans section: plans judged together, and plans that do not count with
the reason (`app.gate.plan_trust`), so a posted plan is never dropped without a word."""

from __future__ import annotations

from app.core.report import PlanStatus, Report
from app.gate.render.escape import esc

IGNORED_SHOWN = 10
"""Ignored plans listed by name; the rest are counted."""


def plan_lines(report: Report) -> list[str]:
    """Plans judged together and plans that do not count: a plan is never dropped silently."""
    plans = report.plans
    if plans is None or not (plans.several or plans.ignored or plans.stale):
        return []
    lines = ["**Terraform plans**", ""]
    for directory, digests in sorted(plans.several.items()):
        shown = ", ".join(f"`{d[:12]}`" for d in digests[:5])
        lines.append(
            f"- {len(digests)} different plans of {esc(directory or '.')} at "
            f"`{plans.head_sha[:7]}` ({shown}) are judged together: every change of each "
            "counts, so the riskier plan decides"
        )
    judged = " (judged on the source alone)" if plans.mode == "optional" else ""
    lines += [f"- {esc(why, 400)}{judged}" for why in plans.stale[:IGNORED_SHOWN]]
    lines += [f"- ignored: {esc(why, 400)}" for why in plans.ignored[:IGNORED_SHOWN]]
    more = len(plans.ignored) - IGNORED_SHOWN
    return [*lines, *([f"- … {more} more ignored plans"] if more > 0 else []), ""]


def stale_title(plans: PlanStatus) -> str:
    """The check's title when a missing plan's directory had a stale one: "infra/prod: plan … is
    stale: base moved from X to Y, changing …; post a new plan" (empty when none did)."""
    for why in plans.stale:
        directory = why.split(":", 1)[0]
        if directory in plans.missing or (directory == "." and "" in plans.missing):
            return why
    return ""
