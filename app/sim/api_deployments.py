"""`POST /repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule`: a custom
deployment protection rule's answer (see app/sim/deployments.py for the refusals)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.sim.api_repos import _json
from app.sim.apiutil import repo_access
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
