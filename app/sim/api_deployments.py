"""`POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`: a custom
deployment protection rule's answer (see app/sim/deployments.py for the refusals); and
`GET /repos/{owner}/{repo}/commits/{sha}/pulls`: the PRs a commit belongs to (a merge commit
names the PR it merged), which a deployment decision asks about a commit it has no record of."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from app.sim import shapes_pull
from app.sim.api_repos import _json
from app.sim.apiutil import paginate, repo_access
from app.sim.state import SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

router = APIRouter()


@router.post("/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule")
async def review_custom_gates(request: Request, owner: str, repo: str, run_id: int) -> Response:
    sim: Simulator = request.app.state.sim
    body = await _json(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        if sim.world.app is None:
            raise SimError(403, "no App configured")
        app_id = sim.world.app.id
    sim.deployments.answer(r.full_name, run_id, body, app_id)
    return Response(status_code=204)


@router.get("/repos/{owner}/{repo}/commits/{sha}/pulls")
def pulls_of_commit(request: Request, owner: str, repo: str, sha: str) -> JSONResponse:
    sim: Simulator = request.app.state.sim
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        if sha not in r.commits:
            raise SimError(422, f"No commit found for SHA: {sha}")
        pulls = [
            pr
            for (name, _), pr in sorted(sim.world.pulls.items(), key=lambda kv: kv[0][1])
            if name == r.full_name
            and (sha in pr.commit_shas or sha in pr.rebased_shas or pr.merge_commit_sha == sha)
        ]
        page, headers = paginate(request, pulls)
        body = [shapes_pull.pull_request(sim.world, pr) for pr in page]
    return JSONResponse(body, headers=headers)
