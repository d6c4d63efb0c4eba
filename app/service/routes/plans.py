"""`POST /api/plans/{owner}/{repo}/{sha}`: a CI job posts the Terraform plan of one head.

Body: `{"dir": "infra/prod", "plan": <terraform show -json output>}`; `?stage=apply` marks the
plan an apply job made for a merge commit (a `push` run; read by the deployment protection rule
only, docs/deployments.md). The caller's token is
checked (`app.service.plan_auth`), then that the App is installed on the repository and the
repository's upload rate (`app.service.plan_guard`); the body is spooled to disk and parsed in a
bounded number of slots. The plan is checked to be a plan, redacted and stored for exactly
(repo, sha, dir) with its SHA-256 and who posted it, recorded in the audit chain
(`plan_received`), and the open PRs whose head is `sha` are queued for re-evaluation.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from app.core.errors import GitHubError, GitHubUnavailable, UnparseableError
from app.core.snapshot import PlanProvenance
from app.gate.plan_freshness import local_module_dirs
from app.github.client import CallLog
from app.runtime.context import Runtime
from app.semdiff import check_plan, plan_from
from app.service.analyze_guard import retry_after_header
from app.service.handlers import PLAN_EVENT
from app.service.plan_auth import PlanAuthError, PlanAuthorizer
from app.service.plan_guard import PlanGuard, parse_spooled, spool_body
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


def _guard(rt: Runtime) -> PlanGuard:
    if rt.plan_guard is None:
        rt.plan_guard = PlanGuard(rt.settings)
    return rt.plan_guard


@dataclass(frozen=True)
class _Stored:
    id: int
    dir: str
    sha256: str
    resource_changes: int


@router.post(
    "/plans/{owner}/{repo}/{sha}",
    status_code=202,
    responses={
        400: {"description": "not JSON, or not a Terraform plan"},
        401: {"description": "missing or invalid token"},
        403: {"description": "the token is for another repository, commit, event or workflow"},
        404: {"description": "the App is not installed on this repository"},
        413: {"description": "body over COUNTERSIGN_MAX_PLAN_BYTES"},
        429: {"description": "too many plan uploads for this repository (Retry-After)"},
        503: {"description": "GitHub or the OIDC issuer cannot be reached"},
    },
)
async def post_plan(
    request: Request,
    owner: Annotated[str, Path(pattern=NAME)],
    repo: Annotated[str, Path(pattern=NAME)],
    sha: Annotated[str, Path(pattern=SHA)],
    stage: Annotated[Literal["pr", "apply"], Query()] = "pr",
    base: Annotated[str | None, Query(pattern=SHA)] = None,
) -> PlanAccepted:
    """Store the plan of `dir` for head `sha` and queue the PRs at that head.

    Cheapest first, nothing stored before the last step: token, installation, rate, a
    `pull_request` token's test merge, body size; then the body is parsed from disk in one of
    the parse slots."""
    rt: Runtime = request.app.state.runtime
    full = f"{owner}/{repo}"
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    try:
        provenance = await run_in_threadpool(
            _authorizer(rt).authorize, token, full, sha.lower(), stage
        )
    except PlanAuthError as error:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        raise HTTPException(error.status, error.message, headers=headers) from None
    if base is not None and stage == "pr":  # the base the plan was made against (stale plans)
        provenance = provenance.model_copy(update={"base_sha": base.lower()})
    guard = _guard(rt)
    installation = await _require_installed(rt, guard, full)
    wait = guard.retry_after(full)
    if wait > 0:
        raise HTTPException(
            429,
            f"too many plan uploads for {full}: retry later (COUNTERSIGN_PLAN_RATE_PER_MINUTE)",
            headers={"Retry-After": retry_after_header(wait)},
        )
    if provenance.sha and provenance.sha != sha.lower():  # a GitHub call: after the rate limit
        await run_in_threadpool(
            _confirm_test_merge, rt, installation, full, sha.lower(), provenance
        )
    limit = rt.settings.max_plan_bytes
    spool = await spool_body(request.stream(), request.headers.get("content-length"), limit)
    try:
        async with guard.slots.semaphore:  # one parsed plan in memory per slot
            stored = await run_in_threadpool(_store, rt, spool, full, sha.lower(), provenance)
    finally:
        spool.close()
    queued = await run_in_threadpool(
        inbox.store_delivery,
        rt.engine,
        delivery_id=f"plan-{uuid.uuid4()}",
        event=PLAN_EVENT,
        repo=full,
        head_sha=sha.lower(),
        payload=json.dumps(
            {"repo": full, "head_sha": sha.lower(), "sha256": stored.sha256, "plan_id": stored.id}
        ).encode(),
    )
    rt.wake.set()
    return PlanAccepted(
        repo=full,
        sha=sha.lower(),
        dir=stored.dir,
        sha256=stored.sha256,
        resource_changes=stored.resource_changes,
        queued=queued,
    )


async def _require_installed(rt: Runtime, guard: PlanGuard, repo: str) -> int:
    """The App's installation on `repo` (cached); 404 when not installed, 503 when GitHub
    cannot say."""
    if rt.github is None:
        raise HTTPException(503, "the App's GitHub credentials are not configured")
    try:
        installation = await run_in_threadpool(guard.installations.installation, rt.github, repo)
    except GitHubError as error:
        raise HTTPException(
            503,
            f"cannot check the App's installation on {repo}: {error}",
            headers={"Retry-After": "30"},
        ) from None
    if installation is None:
        raise HTTPException(404, f"the Countersign App is not installed on {repo}")
    return installation


def _confirm_test_merge(
    rt: Runtime, installation: int, repo: str, sha: str, provenance: PlanProvenance
) -> None:
    """A `pull_request` run's token names the PR's test merge commit: 403 unless PR <n> is open
    with head `sha` and that test merge (a plan of a stale merge is refused: re-run the job)."""
    number = int(provenance.ref.rsplit("/", 2)[-2])
    if rt.github is None:
        raise HTTPException(503, "the App's GitHub credentials are not configured")
    try:
        pr = rt.github.installation(installation, CallLog()).pull(repo, number)
    except GitHubUnavailable as error:
        raise HTTPException(503, str(error), headers={"Retry-After": "30"}) from None
    except GitHubError:
        pr = {}
    head = str((pr.get("head") or {}).get("sha") or "").lower()
    merge = str(pr.get("merge_commit_sha") or "").lower()
    if pr.get("state") != "open" or head != sha or merge != provenance.sha:
        raise HTTPException(
            403,
            f"the token is for commit {provenance.sha[:12]}, which is not the test merge of "
            f"{sha[:12]} in open PR #{number} (re-run the plan job for the current head)",
        )


def _store(
    rt: Runtime, spool: IO[bytes], repo: str, sha: str, provenance: PlanProvenance
) -> _Stored:
    """Parse, check, redact and store one plan; the parsed plan is freed when this returns."""
    try:
        body: Any = parse_spooled(spool)
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
    modules = local_module_dirs(body.get("plan") or {}, directory)
    if modules:  # a base move in a module it sources makes the plan stale too
        provenance = provenance.model_copy(update={"module_dirs": modules})
    row = save_plan(rt.engine, repo, sha, plan, provenance)
    return _Stored(row, plan.dir, plan.sha256, len(plan.plan.get("resource_changes") or []))


def _valid_dir(directory: str) -> bool:
    return re.fullmatch(DIR, directory) is not None
