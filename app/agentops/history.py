"""AgentHistory: the slice of the audited record one evaluation needs, handed in as data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from app.agentops.scorecard import Scorecard


@dataclass(frozen=True)
class AgentHistory:
    """What the service read from the store for this agent, at `now`.

    `records` holds the agent-level scorecard over the last `days` for each window a graduation
    entry asks for. The `opened_*` times are the openings (first evaluation, or first after a
    close) of the agent's *other* PRs that were opened before this one, inside the last hour or
    day; `open_prs` counts those of them still open. Ordering by the audit chain's seq keeps
    the count right when several workers evaluate the agent's PRs at once.
    """

    agent_id: str
    now: datetime
    records: Mapping[int, Scorecard] = field(default_factory=dict)
    opened_last_hour: tuple[datetime, ...] = ()
    opened_last_day: tuple[datetime, ...] = ()
    open_prs: int = 0
