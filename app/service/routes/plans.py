"""`POST /api/plans/{owner}/{repo}/{sha}`: a CI job posts the Terraform plan of one head.

Body: `{"dir": "infra/prod", "plan": <terraform show -json output>}`. The plan is checked to be a
plan, redacted and stored for exactly (repo, sha, dir) with its SHA-256, recorded in the audit
chain (`plan_received`), and the open PRs whose head is `sha` are queued for re-evaluation.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from app.core.errors import UnparseableError
from app.core.gc_pause import paused_gc
from app.runtime.context import Runtime
from app.semdiff import check_plan, plan_from, reject_constant
from app.service.handlers import PLAN_EVENT
from app.service.plan_auth import PlanAuthError, PlanAuthorizer
from app.store import inbox
from app.store.plans import save_plan

router = APIRouter(prefix="/api")

NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
SHA = r"^[0-9a-fA-F]{40}$"
DIR = r"^[A-Za-z0-9._/@+-]{0,500}$"


class PlanAccepted(BaseModel):
    repo: str
    sha: str
    dir: str
    sha256: str
    resource_changes: int
    queued: bool


def _authorizer(rt: Runtime) -> PlanAuthorizer:
    if rt.plan_authorizer is None:
        rt.plan_authorizer = PlanAuthorizer(rt.settings)
    return rt.plan_authorizer


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"plan body larger than {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"plan body larger than {limit:,} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/plans/{owner}/{repo}/{sha}",
    status_code=202,
    responses={
        400: {"description": "not JSON, or not a Terraform plan"},
        401: {"description": "missing or invalid token"},
        403: {"description": "the token is for another repository or commit"},
        413: {"description": "body over COUNTERSIGN_MAX_PLAN_BYTES"},
    },
)
async def post_plan(
    request: Request,
    owner: Annotated[str, Path(pattern=NAME)],
    repo: Annotated[str, Path(pattern=NAME)],
    sha: Annotated[str, Path(pattern=SHA)],
) -> PlanAccepted:
    """Store the plan of `dir` for head `sha` and queue the PRs at that head."""
    rt: Runtime = request.app.state.runtime
    full = f"{owner}/{repo}"
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    try:
        source = await run_in_threadpool(_authorizer(rt).authorize, token, full, sha.lower())
    except PlanAuthError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        raise HTTPException(error.status, error.message, headers=headers) from None
    raw = await _body(request, rt.settings.max_plan_bytes)
    try:  # a plan can be tens of MB: parse it off the event loop
        body: Any = await run_in_threadpool(_parse, raw)
    except (ValueError, RecursionError):
        raise HTTPException(400, "the body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("dir"), str):
        raise HTTPException(400, 'the body must be {"dir": "<module dir>", "plan": {…}}')
    directory = body["dir"].strip().strip("/")
    if ".." in directory.split("/") or not _valid_dir(directory):
        raise HTTPException(400, f"invalid module directory {body['dir']!r}")
    try:
        plan = plan_from(check_plan(body.get("plan"), f"{directory or '.'}/plan.json"), directory)
    except UnparseableError as error:
        raise HTTPException(400, str(error)) from None
    await run_in_threadpool(save_plan, rt.engine, full, sha.lower(), plan, source)
    queued = await run_in_threadpool(
        inbox.store_delivery,
        rt.engine,
        delivery_id=f"plan-{uuid.uuid4()}",
        event=PLAN_EVENT,
        repo=full,
        head_sha=sha.lower(),
        payload=json.dumps({"repo": full, "head_sha": sha.lower(), "sha256": plan.sha256}).encode(),
    )
    rt.wake.set()
    return PlanAccepted(
        repo=full,
        sha=sha.lower(),
        dir=directory,
        sha256=plan.sha256,
        resource_changes=len(plan.plan.get("resource_changes") or []),
        queued=queued,
    )


def _parse(raw: bytes) -> Any:
    with paused_gc():
        return json.loads(raw, parse_constant=reject_constant)


def _valid_dir(directory: str) -> bool:
    return re.fullmatch(DIR, directory) is not None
