"""`who_can` and `explain_rule`: questions about the loaded policies and rules, no store at all."""

from __future__ import annotations

import difflib
from pathlib import PurePath
from typing import Any, Literal

from app.mcp.door import Caller, ToolOutput, ToolRefused

MAX_EXAMPLES = 3


def who_can(
    caller: Caller,
    action: Literal["propose", "approve"],
    kind: str | None,
    op: str | None,
    environment: str | None,
    repo: str | None,
) -> ToolOutput:
    """`countersign policy who-can` for an agent: which agents may propose it, who may approve."""
    rows = caller.gate.policy.who_can(action=action, kind=kind, op=op, env=environment, repo=repo)
    data = {
        "action": action,
        "kind": kind,
        "op": op,
        "environment": environment,
        "repo": repo,
        "rows": [
            {
                "who": r.agent,
                "logins": list(r.logins),
                "policies": list(r.policies),
                "detail": r.detail,
            }
            for r in rows
        ],
        "you": caller.agent.id,
        "you_may": action == "propose" and any(r.agent == caller.agent.id for r in rows),
    }
    asked = " ".join(
        f"{k}={v}"
        for k, v in (("kind", kind), ("op", op), ("env", environment), ("repo", repo))
        if v
    )
    lines = [f"Who may {action} {asked or 'anything'}:"]
    lines += [f"- {r}" for r in rows] or ["- nobody: no policy permits it"]
    if action == "propose":
        lines.append(
            f"You ({caller.agent.id}) may propose it."
            if data["you_may"]
            else f"You ({caller.agent.id}) may not propose it: leave it to a human or an agent listed."
        )
    return ToolOutput(data=data, text="\n".join(lines))


def _match(rule: Any) -> dict[str, Any]:
    m = rule.matcher
    files = (
        [getattr(p, "pattern", str(p)) for p in getattr(m.files, "patterns", ())] if m.files else []
    )
    return {
        "kind": sorted(m.kinds or ()),
        "op": sorted(m.ops or ()),
        "type": list(m.types.globs) if m.types else [],
        "address": list(m.addresses.globs) if m.addresses else [],
        "file": files,
        "field": list(m.fields.globs) if m.fields else [],
        "environment": sorted(m.environments or ()),
    }


def _example(example: Any) -> dict[str, Any]:
    change = example.change.model_dump(mode="json", exclude_defaults=True)
    return {"matches": example.expected, "change": change}


def explain_rule(caller: Caller, rule_id: str) -> ToolOutput:
    from app.risk.score import default_tier

    rules = {r.id: r for r in caller.gate.rules.rules}
    rule = rules.get(rule_id.strip())
    if rule is None:
        near = difflib.get_close_matches(rule_id.strip(), list(rules), n=5, cutoff=0.5)
        hint = f"; did you mean {', '.join(near)}?" if near else ""
        raise ToolRefused(
            404, "unknown_rule", f"no rule {rule_id[:100]!r} in the loaded pack{hint}"
        )
    parts = rule.message.parts
    message = "".join(p if i % 2 == 0 else "{" + p + "}" for i, p in enumerate(parts))
    tier = rule.tier if rule.tier is not None else default_tier(rule.severity)
    matches = [e for e in rule.examples if e.expected][:MAX_EXAMPLES]
    misses = [e for e in rule.examples if not e.expected][:MAX_EXAMPLES]
    match = _match(rule)
    examples = [_example(e) for e in matches + misses]
    data: dict[str, Any] = {
        "id": rule.id,
        "description": rule.description,
        "severity": rule.severity,
        "tier": tier,
        "tier_is_default": rule.tier is None,
        "match": match,
        "when": rule.when_source,
        "message": message,
        "supersedes": sorted(rule.supersedes),
        "fallback": rule.fallback,
        "examples": examples,
        "source": f"{PurePath(rule.source).name}:{rule.line}",  # no server paths
    }
    keys = ", ".join(f"{k}: {v}" for k, v in match.items() if v) or "every change"
    lines = [
        f"{rule.id} ({data['source']}): severity {rule.severity}, tier {tier}"
        + (" (the severity's default)" if rule.tier is None else "")
        + " (production environments raise the severity one level).",
        rule.description.strip(),
        f"Matches: {keys}" + (f", when {rule.when_source}" if rule.when_source else "") + ".",
        f"Message: {message}",
    ]
    if rule.supersedes:
        lines.append(f"Supersedes: {', '.join(sorted(rule.supersedes))}.")
    if rule.fallback:
        lines.append("Fallback: only for changes no regular rule matched.")
    for e in examples:
        c = e["change"]
        verdict = "matches" if e["matches"] else "does not match"
        lines.append(
            f"Example ({verdict}): {c.get('kind')} {c.get('op')} {c.get('address')} in {c.get('file')}"
        )
    return ToolOutput(data=data, text="\n".join(lines))
