"""Turn a Report into what people read: Markdown, a check-run title and conclusion, annotations.

Pure functions, so the CLI's `--format markdown`, `POST /api/analyze` and the check run all say the
same thing. Every string that came from the PR (paths, addresses, messages) is escaped: an agent
controls those and must not be able to inject markup into a reviewer's view.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from app.models import Change
from app.report import Finding, Report

Conclusion = Literal["success", "action_required", "failure"]

CHECK_SUMMARY_LIMIT = 65_535
TIER_NAMES = {0: "auto", 1: "review", 2: "two-person", 3: "change-board", "blocked": "blocked"}
_LEVEL = {
    "info": "notice",
    "low": "notice",
    "medium": "warning",
    "high": "failure",
    "critical": "failure",
}


def esc(value: object, limit: int = 200) -> str:
    """Escape a PR-controlled string for a Markdown table cell or list item."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    for ch, rep in (
        ("\\", "\\\\"),
        ("|", "\\|"),
        ("`", "'"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("*", "\\*"),
        ("_", "\\_"),
        ("[", "\\["),
        ("]", "\\]"),
        ("@", "@\u200b"),
    ):
        text = text.replace(ch, rep)
    return " ".join(text.split())


def _value(v: Any) -> str:
    if v is None:
        return "∅"
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True, default=str)


def conclusion_for(report: Report, *, enforced: bool = True) -> Conclusion:
    """Fail closed: any problem, a policy deny or a blocked tier is `failure`."""
    if report.problems or report.policy.decision != "allow" or report.tier == "blocked":
        return "failure"
    if not enforced:
        return "success"
    if report.tier is None:
        return "failure"
    if report.plans is not None and report.plans.missing:
        return "action_required"  # waiting for the plan of this exact head
    return "success" if report.approvals.satisfied else "action_required"


def check_title(report: Report, conclusion: Conclusion, *, enforced: bool = True) -> str:
    """One line for the checks list, e.g. `Tier 2 · high · 1 of 2 approvals (needs @acme/finance)`."""
    if report.problems:
        return f"Failed: {report.problems[0]}"[:200]
    if report.policy.decision != "allow" or report.tier == "blocked":
        reason = ", ".join(report.policy.reasons) or "policy denies this agent"
        return f"Blocked by policy · {reason}"[:200]
    if not enforced:
        return f"Not an agent change · informational · {report.risk.level}"
    if report.plans is not None and report.plans.missing:
        dirs = ", ".join(report.plans.missing[:3])
        return f"Waiting for the plan of {dirs} at {report.plans.head_sha[:7]}"[:200]
    tier = report.tier if report.tier is not None else "?"
    parts = [f"Tier {tier}", report.risk.level]
    needed = {1: 1, 2: 2, 3: 2}.get(report.tier, 0) if isinstance(report.tier, int) else 0
    if needed:
        have = len(report.approvals.approvals)
        parts.append(f"{have} of {needed} approval{'s' if needed != 1 else ''}")
    title = " · ".join(parts)
    if conclusion == "action_required" and report.approvals.missing:
        title += f" (needs {', '.join(report.approvals.missing[:3])})"
    if report.approvals.blocking:
        title += f" (blocked: {report.approvals.blocking[0]})"
    return title[:200]


def _change_summary(change: Change, limit: int = 3) -> str:
    facts = change.facts
    if "unparseable" in facts:
        return "could not analyse: " + str(facts["unparseable"])
    moved = facts.get("max_delta_field")
    if moved and moved != facts.get("price_field") and facts.get("max_delta_pct") is not None:
        return f"{moved} {facts.get('max_delta_before')} → {facts.get('max_delta_after')} ({facts['max_delta_pct']:+}%)"
    if "price_delta_pct" in facts and facts.get("price_delta_pct") is not None:
        return f"price {facts.get('price_before')} → {facts.get('price_after')} ({facts['price_delta_pct']:+}%)"
    if change.fields:
        shown = [f"{f.path}: {_value(f.before)} → {_value(f.after)}" for f in change.fields[:limit]]
        more = len(change.fields) - limit
        return "; ".join(shown) + (f"; +{more} more" if more > 0 else "")
    if "lines_added" in facts:
        return f"+{facts['lines_added']} −{facts.get('lines_removed', 0)} lines"
    return ""


def _finding_line(f: Finding) -> str:
    where = f.file or ""
    if f.line:
        where += f":{f.line}"
    return (
        f"- **{f.severity}** (tier {f.tier}) `{f.rule}` {esc(where)}"
        f"{' ' + esc(f.address) if f.address and f.address != f.file else ''} — {esc(f.message, 400)}"
    )


def render_markdown(
    report: Report, *, limit: int = CHECK_SUMMARY_LIMIT, enforced: bool = True
) -> str:
    """The full report as Markdown, cut to `limit` characters by dropping table rows, not structure."""
    conclusion = conclusion_for(report, enforced=enforced)
    head: list[str] = [f"### Countersign: {check_title(report, conclusion, enforced=enforced)}", ""]
    if report.problems:
        head += ["**Why this fails**", ""] + [f"- {esc(p, 500)}" for p in report.problems] + [""]
    agent = report.agent
    head += [
        "| | |",
        "|---|---|",
        f"| Agent | {esc(agent.id) if agent.id else ('not an agent change' if not agent.is_agent else 'unregistered')} |",
        f"| Author | {esc(agent.author or '?')} |",
        f"| Run ID | {esc(agent.run_id) if agent.run_id else '**missing**' if agent.is_agent else '—'} |",
        f"| Tier | {report.tier} ({TIER_NAMES.get(report.tier, '?') if report.tier is not None else '?'}) |",
        f"| Risk | {report.risk.level} (score {report.risk.score}) |",
        f"| Policy | {report.policy.decision}"
        + (f": {esc(', '.join(report.policy.reasons))}" if report.policy.reasons else "")
        + " |",
        f"| Policy version | `{(report.policy_version or '?')[:16]}` |",
        "",
    ]
    if agent.unknown_authors:
        head += (
            ["**Unknown commit authors: enforced as if an agent proposed this change**", ""]
            + [f"- {esc(u, 300)}" for u in agent.unknown_authors[:20]]
            + [""]
        )
    if report.policy.errors:
        head += (
            ["**Policy errors**", ""] + [f"- {esc(e, 300)}" for e in report.policy.errors] + [""]
        )
    appr = report.approvals
    approvals = ["#### Approvals", ""]
    if not appr.required:
        approvals.append("No approvals required.")
    for req in appr.required:
        done = req not in appr.missing and not any(
            req.endswith(m) or m in req for m in appr.missing
        )
        approvals.append(f"- [{'x' if done else ' '}] {esc(req, 300)}")
    for rec in appr.approvals:
        carried = " (carried from an earlier commit: content unchanged)" if rec.carried else ""
        via = f" via {', '.join(rec.teams)}" if rec.teams else ""
        approvals.append(
            f"- approved by {esc(rec.login)}{via} at `{(rec.commit or '')[:7]}`{carried}"
        )
    approvals += [f"- ⛔ {esc(b, 300)}" for b in appr.blocking]
    approvals += [f"- ignored: {esc(i, 300)}" for i in appr.ignored]
    approvals.append("")
    findings = ["#### Findings", ""]
    findings += [_finding_line(f) for f in report.findings] or ["No findings."]
    findings.append("")
    changes_head = [
        f"#### Changes ({len(report.changes)})",
        "",
        "| File | Kind | Object | Op | What |",
        "|---|---|---|---|---|",
    ]
    rows = [
        f"| {esc(c.file, 120)} | {c.kind} | {esc(c.address, 120)} | {c.op} | {esc(_change_summary(c), 300)} |"
        for c in report.changes
    ]
    footer = [
        "",
        "<sub>Countersign report schema v1 · `countersign analyze --format json` gives the full report.</sub>",
    ]
    fixed = "\n".join(head + approvals)
    body_findings = findings
    shown = len(rows)

    def assemble() -> str:
        dropped = len(report.changes) - shown
        tail = [f"| … | | {dropped} more changes not shown | | |"] if dropped else []
        return "\n".join([fixed, *body_findings, *changes_head, *rows[:shown], *tail, *footer])

    text = assemble()
    # Drop table rows first, then findings, never the header or the approval checklist.
    while len(text) > limit and (shown or len(body_findings) > 3):
        if shown:
            shown = max(0, shown // 2 - 1)
        else:
            keep = max(2, (len(body_findings) - 2) // 2)
            body_findings = [
                *body_findings[:keep],
                f"- … {len(report.findings) - keep + 2} more findings not shown",
                "",
            ]
        text = assemble()
    return text[:limit]


def annotations_for(report: Report) -> list[dict[str, Any]]:
    """GitHub check-run annotations for findings that point at a line (batch by 50 when sending)."""
    out: list[dict[str, Any]] = []
    for f in report.findings:
        if not f.file or not f.line:
            continue
        out.append(
            {
                "path": f.file,
                "start_line": f.line,
                "end_line": f.line,
                "annotation_level": _LEVEL[f.severity],
                "title": f"{f.rule} ({f.severity}, tier {f.tier})"[:255],
                "message": f.message[:64_000],
            }
        )
    return out
