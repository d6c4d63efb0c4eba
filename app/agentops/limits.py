"""PR rate limits: over `limits:` the check fails with `agent.rate-limited` and says when it clears.

A PR is judged by the PRs the agent opened *before* it (audit order), so the first N of a burst
pass and the rest wait, and re-evaluating an early PR never blocks it because later ones came.
Pure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from app.agentops.history import AgentHistory
from app.config.agent_ops import AgentLimits

RATE_LIMITED = "agent.rate-limited"


def _clears(opened: tuple[datetime, ...], limit: int, span: timedelta) -> datetime:
    """When enough of the counted PRs have left the window for one more to fit."""
    ordered = sorted(opened)
    return ordered[len(ordered) - limit] + span


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def rate_limit_problem(limits: AgentLimits, history: AgentHistory) -> str | None:
    """The first limit this PR is over, as the sentence the check shows, or None."""
    agent = history.agent_id
    for name, limit, opened, span, period in (
        ("prs_per_hour", limits.prs_per_hour, history.opened_last_hour, timedelta(hours=1), "hour"),
        ("prs_per_day", limits.prs_per_day, history.opened_last_day, timedelta(days=1), "day"),
    ):
        if limit is not None and len(opened) >= limit:
            return (
                f"{RATE_LIMITED}: agent {agent!r} opened {len(opened)} other PR"
                f"{'s' if len(opened) != 1 else ''} in the last {period} before this one "
                f"({name}: {limit}); clears at {_when(_clears(opened, limit, span))}: "
                "re-run the check then"
            )
    if limits.open_prs is not None and history.open_prs >= limits.open_prs:
        return (
            f"{RATE_LIMITED}: agent {agent!r} has {history.open_prs} open PR"
            f"{'s' if history.open_prs != 1 else ''} opened before this one "
            f"(open_prs: {limits.open_prs}); clears when one of them is merged or closed: "
            "re-run the check then"
        )
    return None
