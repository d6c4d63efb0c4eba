"""The MCP tools' door onto the pre-flight API's limits (app/mcp/door.py's `Door`).

One implementation for both transports: the token decides the agent (a bearer header on
Streamable HTTP, `COUNTERSIGN_AGENT_TOKEN` on stdio), and every tool call spends that token's
rate in the same bucket as `POST /api/analyze`, runs in the same bounded runner with its
deadline, and is counted like a pre-flight call: the `countersign_analyze_requests_total`
metric, an `analyze.call` log line and, past the rate limit, an `analyze_call` audit event.
The token is looked up on every call, so a token removed from agents.yaml stops working at
the next reload even for a session that is already open.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from app.mcp.door import Caller, ToolOutput, ToolRefused
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.service.analyze_guard import AnalyzeGuard, RunnerBusy, RunnerRefused, retry_after_header
from app.service.preflight import (
    Refusal,
    count_call,
    evaluate_request,
    guard_for,
    record_outcome,
)

UNAUTHORIZED = (
    "missing or unknown agent token: send `Authorization: Bearer <token>` (HTTP) or set "
    "COUNTERSIGN_AGENT_TOKEN (stdio) to a token declared under the agent's `api_tokens` in "
    "agents.yaml"
)


def bearer_token(headers: Mapping[str, str] | None) -> str:
    """The bearer token of an HTTP request's headers ('' when there is none)."""
    header = (headers or {}).get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


class RuntimeDoor:
    """Admit tool calls for the runtime `runtime()` returns (built after the app starts)."""

    def __init__(
        self, runtime: Callable[[], Runtime], token: Callable[[Mapping[str, str] | None], str]
    ) -> None:
        self._runtime = runtime
        self._token = token

    def _caller(
        self, rt: Runtime, guard: AnalyzeGuard, headers: Mapping[str, str] | None
    ) -> Caller:
        found = rt.gate.policy.registry.agent_for_token(self._token(headers))
        if found is None:
            raise ToolRefused(401, "unauthorized", UNAUTHORIZED)
        agent, fingerprint = found
        limit = agent.api_rate_limit
        per_minute = limit.per_minute if limit else guard.per_minute
        burst = limit.burst if limit else guard.burst
        wait = guard.limiter.take(fingerprint, per_minute, burst)
        if wait > 0:
            raise ToolRefused(
                429,
                "rate_limited",
                f"over the rate for agent {agent.id!r}: retry in {retry_after_header(wait)} s",
            )

        def evaluate(request: Mapping[str, Any]) -> dict[str, Any]:
            raw = json.dumps(dict(request)).encode()
            if len(raw) > guard.max_bytes:
                raise ToolRefused(
                    413,
                    "too_large",
                    f"request over {guard.max_bytes} bytes (COUNTERSIGN_ANALYZE_MAX_BYTES)",
                )
            try:
                return evaluate_request(rt, agent, raw, guard.max_files)
            except Refusal as refusal:
                raise ToolRefused(refusal.status, refusal.outcome, refusal.detail) from None

        def headroom() -> dict[str, Any]:
            left = guard.limiter.left(fingerprint, per_minute, burst)
            return {"calls_left": int(left), "burst": burst, "per_minute": per_minute}

        return Caller(agent, rt.gate, rt.engine, evaluate, headroom, fingerprint)

    async def call(
        self, tool: str, headers: Mapping[str, str] | None, work: Callable[[Caller], ToolOutput]
    ) -> ToolOutput:
        rt = self._runtime()
        guard = guard_for(rt)
        started = time.monotonic()
        agent_id, fingerprint = "-", "-"
        try:
            caller = self._caller(rt, guard, headers)
            agent_id, fingerprint = caller.agent.id, caller.fingerprint
            try:
                output = await guard.runner.run(lambda: work(caller))
            except RunnerRefused as refused:
                outcome = "busy" if isinstance(refused, RunnerBusy) else "deadline"
                raise ToolRefused(
                    503, outcome, f"{refused}; retry in {retry_after_header(refused.retry_after)} s"
                ) from None
        except ToolRefused as refused:
            await self._count(
                rt, tool, agent_id, refused.outcome, refused.status, fingerprint, started
            )
            raise
        except Exception as error:  # fail closed, and say no more than that to the caller
            log.error("mcp.tool_failed", tool=tool, agent=agent_id, error=str(error)[:500])
            await self._count(rt, tool, agent_id, "error", 500, fingerprint, started)
            raise ToolRefused(
                500, "error", f"{tool} failed on the server; the log has details"
            ) from None
        await self._count(rt, tool, agent_id, "ok", 200, fingerprint, started)
        return output

    @staticmethod
    async def _count(
        rt: Runtime,
        tool: str,
        agent: str,
        outcome: str,
        status: int,
        fingerprint: str,
        started: float,
    ) -> None:
        log.info("mcp.call", tool=tool, agent=agent, outcome=outcome, status=status)
        count_call(rt, agent, outcome, status, fingerprint, 0, started)
        await record_outcome(rt, agent, outcome, status)
