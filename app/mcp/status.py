"""`pr_status`: a pull request's latest evaluation from the audit store, as next steps.

Read-only, from the audit chain (never GitHub): the conclusion at the last evaluated head, what
it waits for, whose approval counts, approvals a push voided and why, and how to fix a missing
run ID. An agent may ask only about repositories it is registered for (`repos:` in agents.yaml).
"""

from __future__ import annotations

import re
from typing import Any

from app.core.globs import repo_glob_match
from app.mcp.door import Caller, ToolOutput, ToolRefused
from app.mcp.fence import Fence

PR_REF = re.compile(
    r"^(?P<repo>[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+)#(?P<number>[0-9]{1,9})$"
)
RUN_ID_FIX = (
    "Add a line `Agent-Run-Id: <your run id>` to the PR body or a commit message (and "
    "`Agent-Run-Url: <link>` if you have one), then push: the next evaluation links the run."
)
APPROVERS_NOTE = "never the PR author, a bot, an agent login or the run's operator"


def parse_ref(ref: str, caller: Caller) -> tuple[str, int]:
    """`owner/repo#N` within the caller's registered repositories, else a refusal."""
    match = PR_REF.match(ref.strip())
    if match is None:
        raise ToolRefused(422, "invalid", f"pr {ref[:100]!r}: write it as owner/repo#123")
    repo = match["repo"]
    globs = caller.agent.repos
    if not repo_glob_match(repo, globs):
        raise ToolRefused(
            403,
            "forbidden_repo",
            f"agent {caller.agent.id!r} is registered for repos {', '.join(globs) or '(none)'}; "
            f"{repo} is not one of them (agents.yaml `repos:`)",
        )
    return repo, int(match["number"])


def _waits_for(report: dict[str, Any], conclusion: str | None) -> list[str]:
    approvals = report.get("approvals") or {}
    waits = [f"approval from {who}" for who in approvals.get("missing") or ()]
    plans = report.get("plans") or {}
    waits += [f"a Terraform plan for {d}" for d in plans.get("missing") or ()]
    if (report.get("policy") or {}).get("decision") == "deny":
        waits.append("nothing it can get: Cedar denies this change for this agent (tier blocked)")
    freeze = report.get("freeze") or {}
    if freeze and not freeze.get("exception"):
        waits.append(
            f"the change freeze {freeze.get('name')} to end ({freeze.get('until')}), or a freeze "
            "exception from a member of the freeze's teams (`/countersign freeze-exception "
            "reason: <text>`; never from you or your operator)"
        )
    if conclusion not in ("success", "neutral") and not waits:
        waits.append("a fix for the problems listed (no approval can turn it green)")
    return waits


def status_data(repo: str, number: int, events: list[Any]) -> dict[str, Any]:
    """The structured answer from the PR's events (oldest first)."""
    evaluations = [e for e in events if e.kind == "evaluation"]
    merges = [e for e in events if e.kind in ("merge", "bypass_merge")]
    if not evaluations:
        return {"pr": f"{repo}#{number}", "found": False}
    last = evaluations[-1].data()
    report: dict[str, Any] = last.get("report") or {}
    approvals = report.get("approvals") or {}
    agent = report.get("agent") or {}
    merged = merges[-1].data() if merges and merges[-1].seq > evaluations[-1].seq else None
    missing_run_id = bool(agent.get("is_agent")) and not agent.get("run_id")
    return {
        "pr": f"{repo}#{number}",
        "found": True,
        "state": "merged" if merged is not None else "open",
        "title": merged.get("title") if merged else None,
        "head_sha": last.get("head_sha"),
        "conclusion": last.get("conclusion"),
        "observed": bool(last.get("observed")),
        "tier": report.get("tier"),
        "agent": agent.get("id"),
        "run_id": agent.get("run_id"),
        "waits_for": _waits_for(report, last.get("conclusion")),
        "required_approvers": list(approvals.get("required") or ()),
        "missing_approvers": list(approvals.get("missing") or ()),
        "approvers_rule": APPROVERS_NOTE,
        "approvals": [a.get("login") for a in approvals.get("approvals") or ()],
        "voided_approvals": [
            {"login": v.get("login"), "commit": v.get("commit"), "reason": v.get("reason")}
            for v in approvals.get("voided") or ()
        ],
        "problems": [*(report.get("problems") or ()), *(agent.get("problems") or ())],
        "missing_run_id": missing_run_id,
        "run_id_fix": RUN_ID_FIX if missing_run_id else None,
    }


def describe(data: dict[str, Any]) -> str:
    fence = Fence()
    if not data["found"]:
        return (
            f"No evaluation of {data['pr']} is recorded: the App has not evaluated it (is the App "
            "installed on the repository, and is the PR open?)."
        )
    lines = [
        f"{data['pr']} ({data['state']}): check {data['conclusion']} at head "
        f"{str(data['head_sha'])[:12]}, tier {data['tier']}, agent {data['agent']}."
    ]
    if data["title"] is not None:
        lines.append(fence.block("Title (from the PR)", str(data["title"]), limit=300))
    if data["waits_for"]:
        lines.append("Waits for: " + "; ".join(data["waits_for"]) + ".")
    if data["required_approvers"]:
        lines.append(
            f"Who may approve: {', '.join(data['required_approvers'])} ({data['approvers_rule']})."
        )
    for v in data["voided_approvals"]:
        lines.append(
            f"Voided approval of {fence.quote(v['login'])} at {str(v['commit'])[:12]}: "
            f"{fence.quote(v['reason'], 400)}; ask them to review the new head again."
        )
    lines.extend(f"Problem: {fence.quote(p, 400)}" for p in data["problems"])
    if data["run_id_fix"]:
        lines.append(f"Missing run ID: {data['run_id_fix']}")
    return fence.finish(lines)


def pr_status(caller: Caller, ref: str) -> ToolOutput:
    from app.store.audit.store import events_for_pr

    repo, number = parse_ref(ref, caller)
    kinds = ("evaluation", "merge", "bypass_merge")
    data = status_data(repo, number, events_for_pr(caller.engine, repo, number, kinds=kinds))
    return ToolOutput(data=data, text=describe(data))
