"""What a tool needs from the transport it is served on: the caller, the limits, the evaluation.

The tools never see a token or a request. A `Door` authenticates (the token decides the agent),
spends the caller's rate, runs the work in the bounded pre-flight runner and counts the call; a
refusal is a `ToolRefused` the server turns into an error result naming the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from app.config.agents import Agent
    from app.gate.pipeline import Gatekeeper


class ToolRefused(Exception):
    """A refusal with the HTTP-like status and outcome label the pre-flight API would count."""

    def __init__(self, status: int, outcome: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True)
class Caller:
    """The agent a token belongs to, and what the tools may read for it."""

    agent: Agent
    gate: Gatekeeper
    engine: Engine
    evaluate: Callable[[Mapping[str, Any]], dict[str, Any]]
    """The pre-flight evaluation as `POST /api/analyze` runs it (its caps included)."""
    headroom: Callable[[], dict[str, Any]] = field(default=dict)
    """The caller's pre-flight rate: calls left now and the bucket's size."""
    fingerprint: str = "-"
    """The token's fingerprint (never the token): log lines correlate calls by it."""


@dataclass(frozen=True)
class ToolOutput:
    """Structured content for programs and a short text an LLM can act on."""

    data: dict[str, Any]
    text: str


class Door(Protocol):
    """How a transport admits a tool call (see app/service/mcp_door.py)."""

    async def call(
        self, tool: str, headers: Mapping[str, str] | None, work: Callable[[Caller], ToolOutput]
    ) -> ToolOutput:
        """Authenticate, admit, run `work` in a bounded thread before the deadline, count it."""
        ...
