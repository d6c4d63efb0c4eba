"""PR rate limits: the first N openings in a window pass, the next ones fail and say when they clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.agentops.history import AgentHistory
from app.agentops.limits import rate_limit_problem
from app.config.agent_ops import AgentLimits

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def opened(*minutes_ago: int) -> tuple[datetime, ...]:
    return tuple(NOW - timedelta(minutes=m) for m in minutes_ago)


def test_per_hour_limit_says_when_it_clears() -> None:
    limits = AgentLimits(prs_per_hour=2)
    history = AgentHistory("docs-bot", NOW, opened_last_hour=opened(50, 10))
    problem = rate_limit_problem(limits, history)
    assert problem == (
        "agent.rate-limited: agent 'docs-bot' opened 2 other PRs in the last hour before this "
        "one (prs_per_hour: 2); clears at 2026-12-02 12:10:00 UTC: re-run the check then"
    )
    three = AgentHistory("docs-bot", NOW, opened_last_hour=opened(50, 30, 10))
    assert "clears at 2026-12-02 12:30:00 UTC" in (rate_limit_problem(limits, three) or "")
    assert (
        rate_limit_problem(limits, AgentHistory("docs-bot", NOW, opened_last_hour=opened(5)))
        is None
    )


def test_per_day_and_open_limits() -> None:
    day = AgentHistory("x", NOW, opened_last_day=opened(23 * 60, 60))
    assert "clears at 2026-12-03 11:00:00 UTC" in (
        rate_limit_problem(AgentLimits(prs_per_day=1), day) or ""
    )
    busy = AgentHistory("x", NOW, open_prs=3)
    problem = rate_limit_problem(AgentLimits(open_prs=3), busy) or ""
    assert "has 3 open PRs" in problem and "merged or closed" in problem
    assert rate_limit_problem(AgentLimits(), busy) is None


def test_agent_limits_fall_back_to_defaults_key_by_key() -> None:
    own = AgentLimits(prs_per_hour=5)
    merged = own.over(AgentLimits(prs_per_hour=1, prs_per_day=20))
    assert merged == AgentLimits(prs_per_hour=5, prs_per_day=20, open_prs=None)
    assert own.over(None) == own
