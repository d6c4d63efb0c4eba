"""`POST /api/analyze`: the agents' pre-flight door, open only to registered agents' tokens.

Order of the checks, cheapest first, so an anonymous or abusive caller costs next to nothing:
bearer token (401) → rate limit of that token (429) → body size by Content-Length, then while
reading (413) → JSON and schema (400/422) → claimed author (403) → file count (413) → evaluation
in a bounded worker thread with a deadline (503 when busy or late). Every call is counted by
agent and outcome (`countersign_analyze_requests_total`) and logged as one `analyze.call` line;
each call of a known agent past its rate limit is also an `analyze_call` audit event, which the
agent's scorecard counts.

The token decides the agent: the analysis runs as that agent (its first login, else its branch
prefix or commit identity), and `author`, when given, must be one of that agent's logins, so no
caller can pre-flight a change as another agent.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.config.agents import Agent
from app.runtime.context import Runtime
from app.service.analyze_guard import RunnerBusy, RunnerRefused
from app.service.preflight import (
    AnalyzeRequest,
    Refusal,
    count_call,
    evaluate_request,
    guard_for,
    record_outcome,
)

router = APIRouter(prefix="/api")


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """The model's JSON schema with its `$defs` inlined (an OpenAPI requestBody has no `$defs`)."""
    defs = schema.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(dict(defs[node["$ref"].rsplit("/", 1)[-1]]))
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(schema)
    return result


REQUEST_BODY = {
    "required": True,
    "content": {"application/json": {"schema": _inline(AnalyzeRequest.model_json_schema())}},
}
RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not JSON"},
    401: {"description": "Missing or unknown agent token"},
    403: {"description": "`author` is not one of the calling agent's logins"},
    413: {"description": "Body larger than COUNTERSIGN_ANALYZE_MAX_BYTES, or too many files"},
    422: {"description": "The body does not match the schema, or `diff` is not a unified diff"},
    429: {"description": "Over this token's rate; see Retry-After"},
    503: {"description": "Evaluation slots busy or deadline exceeded; see Retry-After"},
}


def _authenticate(rt: Runtime, request: Request) -> tuple[Agent, str]:
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    found = rt.gate.policy.registry.agent_for_token(token)
    if found is None:
        raise Refusal(
            401,
            "unauthorized",
            "missing or unknown agent token: send `Authorization: Bearer <token>` with a token "
            "declared under the agent's `api_tokens` in agents.yaml",
        )
    return found


async def _read_capped(request: Request, limit: int) -> bytes:
    too_large = Refusal(
        413, "too_large", f"request body over {limit} bytes (COUNTERSIGN_ANALYZE_MAX_BYTES)"
    )
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Refusal(400, "invalid", "Content-Length is not a number")
        if int(declared) > limit:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/analyze", tags=["analyze"], responses=RESPONSES, openapi_extra={"requestBody": REQUEST_BODY}
)
async def analyze(request: Request) -> JSONResponse:
    """Pre-flight a change as the calling agent: the report `countersign analyze` prints."""
    rt: Runtime = request.app.state.runtime
    guard = guard_for(rt)
    started = time.monotonic()
    agent_id, fingerprint, size = "-", "-", 0
    try:
        agent, fingerprint = _authenticate(rt, request)
        agent_id = agent.id
        limit = agent.api_rate_limit
        wait = guard.limiter.take(
            fingerprint,
            limit.per_minute if limit else guard.per_minute,
            limit.burst if limit else guard.burst,
        )
        if wait > 0:
            raise Refusal(
                429, "rate_limited", f"over the rate for agent {agent.id!r}", retry_after=wait
            )
        raw = await _read_capped(request, guard.max_bytes)
        size = len(raw)
        try:
            report = await guard.runner.run(
                lambda: evaluate_request(rt, agent, raw, guard.max_files)
            )
        except RunnerRefused as refused:
            outcome = "busy" if isinstance(refused, RunnerBusy) else "deadline"
            raise Refusal(503, outcome, str(refused), retry_after=refused.retry_after) from None
    except Refusal as refusal:
        count_call(rt, agent_id, refusal.outcome, refusal.status, fingerprint, size, started)
        await record_outcome(rt, agent_id, refusal.outcome, refusal.status)
        return refusal.response()
    except Exception:
        count_call(rt, agent_id, "error", 500, fingerprint, size, started)
        await record_outcome(rt, agent_id, "error", 500)
        raise
    count_call(rt, agent_id, "ok", 200, fingerprint, size, started)
    await record_outcome(rt, agent_id, "ok", 200)
    return JSONResponse(report)
