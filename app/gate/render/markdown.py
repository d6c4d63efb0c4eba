"""Turn a Report into what people read: Markdown, a check-run title and conclusion, annotations.

Pure functions, so the CLI's `--format markdown`, `POST /api/analyze` and the check run all say the
same thing. Every string that came from the PR (paths, addresses, messages) is escaped: an agent
controls those and must not be able to inject markup into a reviewer's view.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from app.core.models import Change
from app.core.report import Finding, Report
from app.gate.render.escape import esc
from app.gate.render.order import Attention, changes_by_attention, findings_by_severity
from app.gate.render.plans import plan_lines, stale_title
from app.gate.render.tuning import freeze_lines, freeze_title, frozen, waiver_lines

Conclusion = Literal["success", "action_required", "failure", "neutral"]
WOULD = {
    "success": "would pass",
    "action_required": "would wait for approvals",
    "failure": "would fail",
}

CHECK_SUMMARY_LIMIT = 65_535
CUT_REASON = "cut to fit GitHub's 65,535-character limit; the details link has the full report"
VOIDED_CHANGES_SHOWN = 10
MIN_FINDINGS_SHOWN = 3
TABLE_HEAD = ("| File | Kind | Object | Op | What |", "|---|---|---|---|---|")
FOOTER = (
    "",
    "<sub>Countersign report schema v1 · `countersign analyze --format json` gives the full report.</sub>",
)
TIER_NAMES = {0: "auto", 1: "review", 2: "two-person", 3: "change-board", "blocked": "blocked"}
_LEVEL = {
    "info": "notice",
    "low": "notice",
    "medium": "warning",
    "high": "failure",
    "critical": "failure",
}


def _value(v: Any) -> str:
    if v is None:
        return "∅"
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True, default=str)


def gate_conclusion(report: Report, *, enforced: bool = True) -> Conclusion:
    """What enforcing the gate concludes. Fail closed: any problem, a policy deny or a blocked
    tier is `failure` (break-glass never lifts those); break-glass lifts waiting, for its head."""
    if report.problems or report.policy.decision != "allow" or report.tier == "blocked":
        return "failure"
    if not enforced:
        return "success"
    if report.tier is None:
        return "failure"
    if _broken_glass(report):
        return "success"
    if frozen(report):
        return "action_required"  # a change freeze: until it ends or an exception is granted
    if report.plans is not None and report.plans.missing:
        return "action_required"  # waiting for the plan of this exact head
    return "success" if report.approvals.satisfied else "action_required"


def conclusion_for(report: Report, *, enforced: bool = True) -> Conclusion:
    """The check's conclusion: the gate's, or `neutral` in observe mode (nothing is enforced)."""
    if report.mode == "observe":
        return "neutral"
    return gate_conclusion(report, enforced=enforced)


def _broken_glass(report: Report) -> bool:
    """Break-glass honoured for this report's head (app/gate/break_glass.py decides per head)."""
    return report.break_glass is not None and report.break_glass.active


def check_title(report: Report, conclusion: Conclusion, *, enforced: bool = True) -> str:
    """One line for the checks list, e.g. `Tier 2 · high · 1 of 2 approvals (needs @acme/finance)`."""
    if conclusion == "neutral":
        would = gate_conclusion(report, enforced=enforced)
        inner = _gate_title(report, would, enforced=enforced)
        return f"Observe mode · {WOULD[would]} · {inner}"[:200]
    return _gate_title(report, conclusion, enforced=enforced)


def _gate_title(report: Report, conclusion: Conclusion, *, enforced: bool) -> str:
    if report.problems:
        return f"Failed: {report.problems[0]}"[:200]
    if report.policy.decision != "allow" or report.tier == "blocked":
        reason = ", ".join(report.policy.reasons) or "policy denies this agent"
        return f"Blocked by policy · {reason}"[:200]
    if not enforced:
        return f"Not an agent change · informational · {report.risk.level}"
    glass = report.break_glass
    if glass is not None and glass.active and conclusion == "success":
        reason = " ".join((glass.reason or "").split())
        return f"Break-glass by {glass.by} · Tier {report.tier} · {reason}"[:200]
    if frozen(report):
        return freeze_title(report)[:200]
    if report.plans is not None and report.plans.missing:
        stale = stale_title(report.plans)
        if stale:
            return stale[:200]
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
    if isinstance(facts.get("moves_text"), str):
        return str(facts["moves_text"])
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


def _head_lines(report: Report, conclusion: Conclusion, enforced: bool) -> list[str]:
    """Title, why it fails, the agent/tier/policy table and the approval checklist: never cut."""
    # The title quotes PR-controlled text (a trailer problem, a break-glass reason): escaped here;
    # GitHub shows the check run's own `title` field as plain text.
    title = esc(check_title(report, conclusion, enforced=enforced), 300)
    head: list[str] = [f"### Countersign: {title}", ""]
    if conclusion == "neutral":
        would = gate_conclusion(report, enforced=enforced)
        head += [
            "**Observe mode**: this check does not block merging and requests no reviewers "
            "(`mode: observe` in .github/countersign.yml on the base branch). Enforced, it "
            f"would conclude `{would}`.",
            "",
        ]
    head += _break_glass_lines(report) + freeze_lines(report) + plan_lines(report)
    if report.problems:
        head += ["**Why this fails**", ""] + [f"- {esc(p, 500)}" for p in report.problems] + [""]
    agent = report.agent
    head += [
        "| | |",
        "|---|---|",
        f"| Agent | {esc(agent.id) if agent.id else ('not an agent change' if not agent.is_agent else 'unregistered')} |",
        f"| Author | {esc(agent.author or '?')} |",
        f"| Run ID | {esc(agent.run_id) if agent.run_id else '**missing**' if agent.is_agent else '—'} |",
        *(
            [f"| Agent trace | `{agent.trace_parent.split('-')[1]}` |"]
            if agent.trace_parent
            else []
        ),
        f"| Tier | {report.tier} ({TIER_NAMES.get(report.tier, '?') if report.tier is not None else '?'}) |",
        f"| Risk | {report.risk.level} (score {report.risk.score}) |",
        f"| Policy | {report.policy.decision}"
        + (f": {esc(', '.join(report.policy.reasons))}" if report.policy.reasons else "")
        + " |",
        f"| Policy version | `{(report.policy_version or '?')[:16]}` |",
    ]
    if report.graduation is not None:
        head.append(f"| Trust ramp | {esc(report.graduation.summary, 500)} |")
    head += [
        "",
    ]
    if agent.unknown_authors:
        head += (
            ["**Unknown commit authors: enforced as if an agent proposed this change**", ""]
            + [f"- {esc(u, 300)}" for u in agent.unknown_authors[:20]]
            + [""]
        )
    if agent.notes:
        head += ["**Notes**", ""] + [f"- {esc(n, 300)}" for n in agent.notes[:10]] + [""]
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
        via = f" via {esc(', '.join(rec.teams))}" if rec.teams else ""
        approvals.append(
            f"- approved by {esc(rec.login)}{via} at `{(rec.commit or '')[:7]}`{carried}"
        )
    approvals += [f"- ⛔ {esc(b, 300)}" for b in appr.blocking]
    voided = {f"{v.login}: {v.reason}" for v in appr.voided}  # explained in their own section
    approvals += [f"- ignored: {esc(i, 300)}" for i in appr.ignored if i not in voided]
    approvals.append("")
    return head + approvals


def _break_glass_lines(report: Report) -> list[str]:
    """Who broke glass, when and why; or why the label does nothing."""
    glass = report.break_glass
    if glass is None:
        return []
    if glass.active:
        return [
            f"**Break-glass** by {esc(glass.by or '?')} ({esc(glass.team or '?')}) at "
            f"{esc(glass.at or '?')} for head `{glass.head_sha[:7]}` only: {esc(glass.reason or '', 500)}",
            "",
            "A push voids it. The merge will be marked for post-merge review.",
            "",
        ]
    return [
        f"**Break-glass label `{esc(glass.label, 60)}` present but not honoured**",
        "",
        *[f"- {esc(why, 400)}" for why in glass.refused],
        "",
    ]


def _voided_lines(report: Report) -> list[str]:
    """Whose approval a push voided, and what changed in their scope since they approved."""
    if not report.approvals.voided:
        return []
    lines = ["#### Approvals voided by a push", ""]
    for v in report.approvals.voided:
        lines.append(f"- **{esc(v.login)}** approved `{esc(v.commit[:7])}`: {esc(v.reason, 300)}")
        for c in v.changes[:VOIDED_CHANGES_SHOWN]:
            if c.before is None:
                what = f"new since their approval ({c.after})"
            elif c.after is None:
                what = f"no longer changed (was {c.before})"
            elif c.before == c.after:
                what = f"{c.after}, with other values"
            else:
                what = f"{c.before} → {c.after}"
            lines.append(
                f"  - {esc(c.file, 120)} {esc(c.address, 120)} ({esc(c.kind, 40)}): {esc(what, 300)}"
            )
        if len(v.changes) > VOIDED_CHANGES_SHOWN:
            lines.append(f"  - … {len(v.changes) - VOIDED_CHANGES_SHOWN} more changes in scope")
    return [*lines, ""]


def _change_row(change: Change, attention: Attention) -> str:
    op = f"**{change.op}**" if attention is Attention.DESTRUCTIVE else change.op
    what = esc(_change_summary(change), 300)
    if attention is Attention.ACCESS:  # the op alone does not say it; bold ops and prices do
        what = f"**access**: {what}" if what else "**access**"
    return f"| {esc(change.file, 120)} | {esc(change.kind, 40)} | {esc(change.address, 120)} | {op} | {what} |"


@dataclass
class _Shown:
    """How many lines of each cuttable part are shown; cut folded parts first."""

    fold_rows: int
    fold_findings: int
    rows: int
    findings: int


def render_markdown(
    report: Report, *, limit: int = CHECK_SUMMARY_LIMIT, enforced: bool = True
) -> str:
    """The report as Markdown, most important first: problems, approvals (and voided ones),
    findings by severity, then destructive/access/price changes. `info` findings and changes
    without a risk finding fold into `<details>`. Over `limit`, the folded parts are cut first,
    then table rows, then low findings; each cut says how much was left out."""
    conclusion = conclusion_for(report, enforced=enforced)
    fixed = "\n".join(
        _head_lines(report, conclusion, enforced) + _voided_lines(report) + waiver_lines(report)
    )
    ordered = findings_by_severity(report.findings)
    main_findings = [_finding_line(f) for f in ordered if f.severity != "info"]
    info_findings = [_finding_line(f) for f in ordered if f.severity == "info"]
    ranked = changes_by_attention(report.changes, report.findings)
    main_rows = [_change_row(c, a) for a, c in ranked if a is not Attention.ROUTINE]
    fold_rows = [_change_row(c, a) for a, c in ranked if a is Attention.ROUTINE]
    shown = _Shown(len(fold_rows), len(info_findings), len(main_rows), len(main_findings))

    def cut_note(hidden: int, what: str) -> list[str]:
        return [f"- … {hidden} more {what} not shown ({CUT_REASON})"] if hidden else []

    def row_note(hidden: int) -> list[str]:
        return [f"| … | | {hidden} more changes not shown ({CUT_REASON}) | | |"] if hidden else []

    def assemble() -> str:
        out = [fixed, f"#### Findings ({len(ordered)})", ""]
        if not ordered:
            out.append("No findings.")
        elif not main_findings:
            out.append("No findings above `info`.")
        out += main_findings[: shown.findings]
        out += cut_note(len(main_findings) - shown.findings, "findings")
        if info_findings:
            out += ["", f"<details><summary>{len(info_findings)} info findings</summary>", ""]
            out += info_findings[: shown.fold_findings]
            out += cut_note(len(info_findings) - shown.fold_findings, "info findings")
            out += ["", "</details>"]
        out += ["", f"#### Changes ({len(report.changes)})", ""]
        if main_rows:
            out += [*TABLE_HEAD, *main_rows[: shown.rows], *row_note(len(main_rows) - shown.rows)]
        elif report.changes:
            out.append("No change destroys, opens access, moves a price or raises a finding.")
        if fold_rows:
            summary = f"{len(fold_rows)} changes without a risk finding"
            out += ["", f"<details><summary>{summary}</summary>", "", *TABLE_HEAD]
            out += fold_rows[: shown.fold_rows] + row_note(len(fold_rows) - shown.fold_rows)
            out += ["", "</details>"]
        return "\n".join([*out, *FOOTER])

    text = assemble()
    while len(text) > limit:
        if shown.fold_rows:
            shown.fold_rows = max(0, shown.fold_rows // 2 - 1)
        elif shown.fold_findings:
            shown.fold_findings = max(0, shown.fold_findings // 2 - 1)
        elif shown.rows:
            shown.rows = max(0, shown.rows // 2 - 1)
        elif shown.findings > MIN_FINDINGS_SHOWN:
            shown.findings = max(MIN_FINDINGS_SHOWN, shown.findings // 2 - 1)
        else:
            break
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
