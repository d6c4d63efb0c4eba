"""The audit API (bearer token, constant-time check); `POST /api/analyze` is in routes_analyze."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import SecretStr

from app.core.errors import UsageError
from app.core.moments import parse_moment
from app.runtime.context import Runtime

router = APIRouter(prefix="/api")


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def require_audit_token(request: Request) -> None:
    """Bearer token from COUNTERSIGN_AUDIT_TOKEN; compared in constant time; 401 otherwise."""
    require_token(request, _runtime(request).settings.audit_token)


def require_token(request: Request, expected: SecretStr | None) -> None:
    """The request's bearer token is `expected` (constant time), else 401."""
    header = request.headers.get("authorization", "")
    given = header[7:] if header[:7].lower() == "bearer " else ""
    secret = expected.get_secret_value() if expected is not None else ""
    # Compare even when unset so timing does not tell "no token configured" from "wrong token".
    ok = hmac.compare_digest(given.encode(), (secret or "\0unset").encode())
    if not secret or not ok:
        raise HTTPException(
            status_code=401,
            detail="missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


AuditAuth = Annotated[None, Depends(require_audit_token)]
UNAUTHORIZED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token"}
}


def _when(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_moment(value, name)
    except UsageError as error:
        raise HTTPException(400, str(error)) from None


@router.get(
    "/audit/merges",
    tags=["audit"],
    responses={
        **UNAUTHORIZED,
        400: {"description": "A filter value is not valid (e.g. since is not ISO-8601)"},
        200: {"content": {"application/x-ndjson": {}, "text/csv": {}}, "description": "Records"},
    },
)
def audit_merges(
    request: Request,
    _auth: AuditAuth,
    since: str | None = None,
    until: str | None = None,
    repo: str | None = None,
    agent: str | None = None,
    format: Annotated[Literal["jsonl", "csv"], Query()] = "jsonl",
) -> StreamingResponse:
    """Stream one record per merge (JSONL or CSV) with seq/hash/prev_hash for offline verify."""
    from app.store.audit.export import export_merges

    rt = _runtime(request)
    lines = export_merges(
        rt.engine, _when(since, "since"), _when(until, "until"), repo, agent, format
    )
    media = "application/x-ndjson" if format == "jsonl" else "text/csv"
    return StreamingResponse(lines, media_type=media)


@router.get("/audit/verify", tags=["audit"], responses=UNAUTHORIZED)
async def audit_verify(request: Request, _auth: AuditAuth) -> dict[str, Any]:
    """Recompute the whole hash chain: ok, count and the first bad seq."""
    from app.store.audit.verify import verify_chain

    rt = _runtime(request)
    result = await run_in_threadpool(verify_chain, rt.engine)
    return {
        "ok": result.ok,
        "count": result.count,
        "first_bad_seq": result.first_bad_seq,
        "reason": result.reason,
    }


@router.get(
    "/reports/{owner}/{name}/{number}",
    tags=["audit"],
    responses={**UNAUTHORIZED, 404: {"description": "No evaluation recorded"}},
)
def latest_report(
    owner: str,
    name: str,
    number: Annotated[int, Path(ge=1, le=2_147_483_647)],
    request: Request,
    _auth: AuditAuth,
) -> dict[str, Any]:
    """The latest evaluation of a PR (the check run's `details_url`)."""
    from app.store.audit.store import evaluations_for_pr

    rt = _runtime(request)
    events = evaluations_for_pr(rt.engine, f"{owner}/{name}", number)
    if not events:
        raise HTTPException(404, "no evaluation recorded for this pull request")
    last = events[-1]
    return {"seq": last.seq, "hash": last.hash, **last.data()}
