"""`preflight`: a diff (or files) evaluated as the calling agent, as `POST /api/analyze` does.

The answer adds what a caller can act on: which findings set the tier, what the tier would be
without them, whose approval it needs, and the trust ramp's verdict when an entry applies.
"""

from __future__ import annotations

from typing import Any

from app.mcp.door import Caller, ToolOutput
from app.mcp.fence import Fence

MAX_LISTED = 20


def lower_tier(report: dict[str, Any]) -> list[str]:
    """What would lower the tier, in sentences (empty at tier 0)."""
    tier = report.get("tier")
    findings: list[dict[str, Any]] = list(report.get("findings") or [])
    if tier == "blocked":
        reasons = "; ".join(report.get("policy", {}).get("reasons") or ()) or "no policy allows it"
        return [
            f"Blocked: Cedar denies this agent proposing the change ({reasons}). Drop the changes "
            "of kinds or environments this agent may not propose, or leave them to a human."
        ]
    if not isinstance(tier, int) or tier == 0:
        return []
    top = sorted({f["rule"] for f in findings if f.get("tier") == tier})
    rest = [f["tier"] for f in findings if isinstance(f.get("tier"), int) and f["tier"] < tier]
    advice = []
    if top:
        advice.append(
            f"Tier {tier} comes from {', '.join(top)}; without the changes behind those findings "
            f"the tier would be {max(rest, default=0)} (split them into a PR of their own)."
        )
    graduation = report.get("graduation")
    if isinstance(graduation, dict):
        entry, to = graduation.get("entry"), graduation.get("to_tier")
        advice.append(
            f"Trust ramp entry {entry} covers these findings and would lower tier {tier} to {to} "
            "once your audited record meets its gates (see `my_record`); a pre-flight has no "
            "record, so only the check run applies it."
        )
    return advice


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """The structured answer: the decision first, the full report JSON last."""
    approvals = report.get("approvals") or {}
    return {
        "agent": (report.get("agent") or {}).get("id"),
        "tier": report.get("tier"),
        "risk": report.get("risk"),
        "policy": (report.get("policy") or {}).get("decision"),
        "required_approvers": list(approvals.get("required") or ()),
        "missing_approvers": list(approvals.get("missing") or ()),
        "findings": [
            {k: f.get(k) for k in ("rule", "severity", "tier", "file", "line", "message")}
            for f in report.get("findings") or ()
        ],
        "lower_tier": lower_tier(report),
        "problems": list(report.get("problems") or ()),
        "report": report,
    }


def describe(data: dict[str, Any]) -> str:
    """A few lines an LLM can act on; every value from the change is quoted."""
    fence = Fence()
    risk = data.get("risk") or {}
    lines = [
        f"Pre-flight as agent {data['agent']}: tier {data['tier']} (risk {risk.get('level')}, "
        f"score {risk.get('score')}); policy {data['policy']}.",
        "Needs approval from: " + (", ".join(data["required_approvers"]) or "nobody (tier 0)"),
    ]
    findings = data["findings"]
    lines.append(f"Findings ({len(findings)}):" if findings else "No findings.")
    for f in findings[:MAX_LISTED]:
        where = f"{fence.quote(f['file'])}:{f['line']}" if f.get("file") else "the PR"
        lines.append(
            f"- {f['rule']} [{f['severity']}, tier {f['tier']}] at {where}: {fence.quote(f['message'])}"
        )
    if len(findings) > MAX_LISTED:
        lines.append(f"- … {len(findings) - MAX_LISTED} more in the structured content")
    lines.extend(f"To lower the tier: {advice}" for advice in data["lower_tier"])
    lines.extend(f"Problem: {fence.quote(p)}" for p in data["problems"])
    return fence.finish(lines)


def preflight(caller: Caller, request: dict[str, Any]) -> ToolOutput:
    report = caller.evaluate(request)
    data = summary(report)
    return ToolOutput(data=data, text=describe(data))
