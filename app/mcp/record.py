"""`my_record`: the calling agent's own scorecard, rate headroom and trust-ramp progress.

Only the caller's record: the token decides the agent, so no agent reads another's figures.
The ramp figures are read the way an evaluation reads them (`agent_history`), so the gates
shown here are the gates the check run applies.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from app.mcp.door import Caller, ToolOutput

WINDOW_DAYS = 30
NO_PR = ("", 0, 2**62)  # repo, number, seq: count every opening of the agent's PRs


def _limits(caller: Caller, history: Any) -> dict[str, Any]:
    limits = caller.gate.policy.registry.limits_for(caller.agent)
    used = {
        "prs_per_hour": len(history.opened_last_hour),
        "prs_per_day": len(history.opened_last_day),
        "open_prs": history.open_prs,
    }
    return {
        name: {
            "limit": limit,
            "used": used[name],
            "left": None if limit is None else max(0, limit - used[name]),
        }
        for name, limit in limits.model_dump().items()
    }


def _graduation(caller: Caller, history: Any) -> list[dict[str, Any]]:
    from app.agentops.ramp import failed_gates, figures_of

    out = []
    for index, entry in enumerate(caller.agent.graduation):
        days = entry.gates.window_days
        figures = figures_of(history.records[days], days)
        failed = failed_gates(entry.gates, figures)
        out.append(
            {
                "entry": index,
                "from_tier": entry.from_tier,
                "to_tier": entry.to_tier,
                "rules": list(entry.rules),
                "gates": entry.gates.model_dump(mode="json"),
                "figures": figures.model_dump(mode="json"),
                "failed_gates": failed,
                "graduated": not failed,
            }
        )
    return out


def record_data(caller: Caller, now: datetime | None = None) -> dict[str, Any]:
    from app.agentops.scorecard import Window
    from app.store.audit.agent_events import agent_scorecards
    from app.store.audit.agent_record import agent_history

    moment = now or datetime.now(UTC)
    agent = caller.agent
    window = Window(moment - timedelta(days=WINDOW_DAYS), moment)
    cards = agent_scorecards(caller.engine, window, agent_id=agent.id)
    repo, pr, seq = NO_PR
    windows = [e.gates.window_days for e in agent.graduation]
    history = agent_history(
        caller.engine,
        agent_id=agent.id,
        repo=repo,
        pr=pr,
        opening_seq=seq,
        windows=windows,
        now=moment,
    )
    return {
        "agent": agent.id,
        "window_days": WINDOW_DAYS,
        "scorecards": [c.model_dump(mode="json") for c in cards],
        "preflight_rate": caller.headroom(),
        "pr_limits": _limits(caller, history),
        "graduation": _graduation(caller, history),
    }


def _pct(value: float | None) -> str:
    return "n/a (no merges)" if value is None else f"{value:g}%"


def describe(data: dict[str, Any]) -> str:
    overall = next((c for c in data["scorecards"] if c["rule_class"] is None), None)
    lines = [f"Record of agent {data['agent']} over the last {data['window_days']} days:"]
    if overall is None:
        lines.append("- no PRs evaluated yet.")
    else:
        lines.append(
            f"- {overall['evaluated']} PRs evaluated, {overall['merged']} merged, "
            f"{overall['failed']} failed, {overall['blocked']} blocked, {overall['bypassed']} "
            f"bypassed, {overall['reverted']} reverted; run-ID coverage "
            f"{_pct(overall['run_id_coverage_pct'])}; pre-flight calls {overall['analyze_calls']}."
        )
    rate = data["preflight_rate"]
    if rate:
        lines.append(
            f"Pre-flight rate: {rate['calls_left']} calls left now (bucket {rate['burst']}, "
            f"refills {rate['per_minute']:g}/min)."
        )
    for name, value in data["pr_limits"].items():
        if value["limit"] is not None:
            lines.append(
                f"PR limit {name}: {value['used']} of {value['limit']} used, {value['left']} left."
            )
    for g in data["graduation"]:
        state = "met" if g["graduated"] else "not met: " + "; ".join(g["failed_gates"])
        lines.append(
            f"Trust ramp entry {g['entry']} (tier {g['from_tier']} → {g['to_tier']} for "
            f"{', '.join(g['rules']) or 'selected changes'}): gates {state}."
        )
    if not data["graduation"]:
        lines.append("No trust-ramp entries: every tier is applied as computed.")
    return "\n".join(lines)


def my_record(caller: Caller) -> ToolOutput:
    data = record_data(caller)
    return ToolOutput(data=data, text=describe(data))
