"""One pre-flight evaluation, shared by `POST /api/analyze` and the MCP tools (app/mcp).

Both doors check the same request model, refuse with the same documented statuses
(`Refusal`), run the evaluation in the same bounded runner (`guard_for`), and count every
call the same way: the `countersign_analyze_requests_total` metric, an `analyze.call` log line
(`count_call`) and, for a known agent within its rate, an `analyze_call` audit event
(`record_outcome`), which the agent's scorecard counts.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from app.config.agents import Agent
from app.core.errors import UsageError
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.service.analyze_guard import AnalyzeGuard, retry_after_header


class FileContents(BaseModel):
    base: str | None = Field(default=None, description="File content on the base side (UTF-8).")
    head: str | None = Field(default=None, description="File content on the head side (UTF-8).")


class AnalyzeRequest(BaseModel):
    """A unified diff (as `git diff` prints it), optionally with whole file contents."""

    diff: str
    files: dict[str, FileContents] = Field(default_factory=dict)
    author: str | None = Field(
        default=None,
        max_length=100,
        description="One of the calling agent's logins (default: its first). The bearer token "
        "decides the agent; naming another agent's login is refused with 403.",
    )
    repo: str = Field(default="local/preflight", max_length=200)
    body: str = Field(default="", max_length=65_536, description="PR body (for Agent-Run-Id).")
    config: str | None = Field(default=None, max_length=1_000_000, description="Repo config YAML.")
    codeowners: str | None = Field(default=None, max_length=1_000_000)


class Refusal(Exception):
    """A documented refusal: HTTP status, the outcome label counted, and a message for the caller."""

    def __init__(
        self, status: int, outcome: str, detail: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.outcome = outcome
        self.detail = detail
        self.retry_after = retry_after

    def response(self) -> JSONResponse:
        headers: dict[str, str] = {}
        if self.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if self.retry_after is not None:
            headers["Retry-After"] = retry_after_header(self.retry_after)
        return JSONResponse({"detail": self.detail}, status_code=self.status, headers=headers)


def guard_for(rt: Runtime) -> AnalyzeGuard:
    """The runtime's pre-flight limits (rate, size, runner), made on first use."""
    if rt.analyze_guard is None:  # built on first use, on the event loop (no race)
        rt.analyze_guard = AnalyzeGuard(rt.settings)
    return rt.analyze_guard


def _identity(agent: Agent, claimed: str | None) -> dict[str, Any]:
    """Snapshot fields that make the proposer stage recognise exactly this agent."""
    from app.core.snapshot import Commit, GitIdentity

    if claimed is not None:
        if claimed.strip().lower() not in agent.logins:
            raise Refusal(
                403,
                "forbidden_author",
                f"this token belongs to agent {agent.id!r}; author {claimed!r} is not one of its "
                "logins (omit `author` to use the agent's own)",
            )
        login: str | None = claimed.strip()
    else:
        login = agent.logins[0] if agent.logins else None
    if login is not None:
        return {"author": login, "author_is_bot": login.endswith("[bot]")}
    if agent.branch_prefixes:
        return {"head_ref": f"{agent.branch_prefixes[0]}preflight"}
    who = GitIdentity(
        name=agent.names[0] if agent.names else "", email=next(iter(agent.emails), "")
    )
    commit = Commit(sha="0" * 40, author=who, committer=who)
    return {"commits": (commit,), "linked_accounts": False}


def _surrogate_at(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string (key or value) holding a lone surrogate, else None.

    JSON lets `"\\ud800"` through `json.loads`; such a string cannot be encoded as UTF-8 later."""
    if isinstance(value, str):
        return None if value.isascii() or not _SURROGATE.search(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if _SURROGATE.search(key):
                return inner
            found = _surrogate_at(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _surrogate_at(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def evaluate_request(rt: Runtime, agent: Agent, raw: bytes, max_files: int) -> dict[str, Any]:
    """Parse, check and evaluate one request (runs in a bounded worker thread)."""
    from app.core.snapshot import PullRequestSnapshot
    from app.gate.pipeline import evaluate
    from app.sources.diff import files_from_diff

    try:
        data = json.loads(raw)
        where = _surrogate_at(data)
    except ValueError as error:  # includes invalid UTF-8
        raise Refusal(400, "invalid", f"the body is not JSON: {error}") from None
    except RecursionError:
        raise Refusal(400, "invalid", "the body is JSON nested too deeply") from None
    if where is not None:
        raise Refusal(
            400,
            "invalid",
            f"{where or 'body'}: a lone surrogate escape (\\ud800-\\udfff) is not text; "
            "send UTF-8 (escape astral characters as surrogate pairs)",
        )
    try:
        body = AnalyzeRequest.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in error.errors()
        )
        raise Refusal(422, "invalid", problems[:2000]) from None
    identity = _identity(agent, body.author)
    if len(body.files) > max_files:
        raise Refusal(
            413,
            "too_many_files",
            f"{len(body.files)} entries in `files`, over {max_files} "
            "(COUNTERSIGN_ANALYZE_MAX_FILES); split the change",
        )
    contents = {
        path: (
            c.base.encode("utf-8") if c.base is not None else None,
            c.head.encode("utf-8") if c.head is not None else None,
        )
        for path, c in body.files.items()
    }
    try:
        files = files_from_diff(body.diff, contents)
    except UsageError as error:
        raise Refusal(422, "invalid", str(error)) from None
    if len(files) > max_files:
        raise Refusal(
            413,
            "too_many_files",
            f"the diff changes {len(files)} files, over {max_files} "
            "(COUNTERSIGN_ANALYZE_MAX_FILES); split the change",
        )
    snapshot = PullRequestSnapshot(
        repo=body.repo,
        body=body.body,
        files=tuple(files),
        config_text=body.config.encode("utf-8") if body.config is not None else None,
        codeowners=body.codeowners,
        **identity,
    )
    report = evaluate(snapshot, rt.gate)
    if report.agent.id != agent.id:  # fail closed: the token's agent is the only proposer
        raise RuntimeError(f"pre-flight evaluated as {report.agent.id!r}, not {agent.id!r}")
    return report.model_dump(mode="json")


UNRECORDED = frozenset({"unauthorized", "rate_limited"})
"""Outcomes not written to the audit store: no agent (401), or refused by the token's rate
limit (429), so a caller can never make us write faster than its rate allows."""


async def record_outcome(rt: Runtime, agent: str, outcome: str, status: int) -> None:
    """Count the call in the agent's scorecard: an `analyze_call` audit event (every process
    sees it, and it survives restarts). Off the event loop: the append waits for the chain lock."""
    if agent == "-" or outcome in UNRECORDED:
        return
    from app.store.audit.agent_events import record_analyze_call

    await asyncio.to_thread(
        record_analyze_call, rt.engine, agent_id=agent, outcome=outcome, status=status
    )


def count_call(
    rt: Runtime, agent: str, outcome: str, status: int, fingerprint: str, size: int, started: float
) -> None:
    """The call's metric and its one `analyze.call` log line."""
    rt.metrics.analyze_calls.labels(agent=agent, outcome=outcome).inc()
    log.info(
        "analyze.call",
        agent=agent,
        outcome=outcome,
        status=status,
        fingerprint=fingerprint,
        bytes=size,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
    )
