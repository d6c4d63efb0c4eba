"""Routes of a PR's conversation, as an installation sees it: comments and issue events.

`GET /issues/{n}/comments` (oldest first) and `POST` to comment as the App's bot;
`GET /issues/{n}/events` (oldest first; the simulator records label changes). A number that
names no PR of the repository answers 404, like an issue GitHub cannot find.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.sim import shapes_issues
from app.sim.apiutil import paginate, repo_access
from app.sim.state import PullRequest, SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

router = APIRouter()


def _pull(request: Request, owner: str, repo: str, number: int) -> tuple[Simulator, PullRequest]:
    sim: Simulator = request.app.state.sim
    r = repo_access(sim, request, owner, repo)
    pr = sim.world.pull(r.full_name, number)
    if pr is None:
        raise SimError(404, "Not Found")
    return sim, pr


@router.get("/repos/{owner}/{repo}/issues/{number}/comments")
def list_comments(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim: Simulator = request.app.state.sim
    with sim.lock:
        sim, pr = _pull(request, owner, repo, number)
        items = [shapes_issues.issue_comment(sim.world, c) for c in sim.comments_of(pr)]
        page, headers = paginate(request, items)
    return JSONResponse(page, headers=headers)


@router.post("/repos/{owner}/{repo}/issues/{number}/comments")
async def create_comment(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim: Simulator = request.app.state.sim
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise SimError(400, "Problems parsing JSON") from exc
    body = data.get("body") if isinstance(data, dict) else None
    if not isinstance(body, str):
        raise SimError(422, 'Invalid request.\n\n"body" wasn\'t supplied.')
    with sim.lock:
        sim, pr = _pull(request, owner, repo, number)
    comment = sim.comment(pr, sim.app_bot(), body, via_api=True)
    with sim.lock:
        shaped = shapes_issues.issue_comment(sim.world, comment)
    return JSONResponse(shaped, status_code=201)


@router.get("/repos/{owner}/{repo}/issues/{number}/events")
def list_events(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim: Simulator = request.app.state.sim
    with sim.lock:
        sim, pr = _pull(request, owner, repo, number)
        items = [
            shapes_issues.issue_event(sim.world, e)
            for e in sim.world.issue_events
            if (e.repo, e.number) == (pr.repo, pr.number)
        ]
        page, headers = paginate(request, items)
    return JSONResponse(page, headers=headers)
