"""The control API under `/_sim/`: the Simulator's operations over HTTP, for out-of-process tests.

Not part of GitHub and not logged in the request log. Loopback only, unauthenticated: never
expose a simulator beyond 127.0.0.1.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Body, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from app.sim import scenario, shapes, shapes_pull
from app.sim.apiutil import sim_of
from app.sim.faults import Fault
from app.sim.state import PullRequest, Repo, Review, SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

OPS = frozenset(
    {
        "add_user",
        "add_org",
        "add_team",
        "install",
        "oauth_sign_in",
        "set_oauth_callback",
        "uninstall",
        "create_repo",
        "open_pr",
        "push",
        "edit_pr",
        "review",
        "dismiss_review",
        "merge",
        "close_pr",
        "add_labels",
        "remove_label",
        "comment",
        "edit_comment",
        "delete_comment",
        "rerequest_check",
        "requested_action",
        "drop_next_deliveries",
        "redeliver",
    }
)

router = APIRouter()


def _result(sim: Simulator, value: Any) -> Any:
    with sim.lock:
        if isinstance(value, PullRequest):
            return shapes_pull.pull_request(sim.world, value)
        if isinstance(value, Review):
            return shapes_pull.review(sim.world, value)
        if isinstance(value, Repo):
            return shapes.repository(sim.world, value, full=True)
    if value is None or isinstance(value, str | int):
        return {"result": value}
    return {"result": getattr(value, "id", str(value))}


@router.post("/ops/{op}")
def run_op(request: Request, op: str, args: dict[str, Any] = Body(default={})) -> JSONResponse:  # noqa: B008
    """Call `Simulator.<op>(**args)`; positional parameters are passed by name too."""
    sim = sim_of(request)
    if op not in OPS:
        raise SimError(404, f"unknown simulator op {op!r}; one of {sorted(OPS)}")
    method = getattr(sim, op)
    try:
        inspect.signature(method).bind(**args)
    except TypeError as exc:
        raise SimError(422, f"bad arguments for {op}: {exc}") from exc
    return JSONResponse(_result(sim, method(**args)))


@router.post("/scenario")
async def run_scenario(request: Request) -> JSONResponse:
    """Play a scenario (YAML or JSON body) including its set-up; answers the step lines."""
    sim = sim_of(request)
    loaded = scenario.load_scenario(await request.body(), "<POST /_sim/scenario>")
    try:
        played = await run_in_threadpool(scenario.run, sim, loaded)
    except scenario.ScenarioError as exc:
        raise SimError(422, str(exc)) from exc
    return JSONResponse({"steps": played.lines, "pulls": [p.number for p in played.pulls]})


@router.get("/requests")
def get_requests(request: Request) -> list[str]:
    return list(sim_of(request).requests)


@router.delete("/requests")
def clear_requests(request: Request) -> dict[str, int]:
    sim = sim_of(request)
    count = len(sim.requests)
    sim.requests.clear()
    return {"cleared": count}


@router.get("/deliveries")
def get_deliveries(request: Request) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "guid": d.guid,
            "event": d.event,
            "action": d.action,
            "status": d.status,
            "status_code": d.status_code,
            "redelivery": d.redelivery,
            "payload": d.payload,
        }
        for d in sim_of(request).deliveries
    ]


@router.post("/faults")
def add_fault(request: Request, spec: dict[str, Any] = Body()) -> dict[str, str]:  # noqa: B008
    """`{method, path, kind, times?, status?, retry_after?, reset_in?, seconds?}`."""
    kind = spec.get("kind")
    builders = {
        "status": lambda: Fault.error(int(spec.get("status", 500))),
        "secondary_rate_limit": lambda: Fault.secondary_rate_limit(
            int(spec.get("retry_after", 60))
        ),
        "primary_rate_limit": lambda: Fault.primary_rate_limit(
            int(spec.get("status", 403)), int(spec.get("reset_in", 60))
        ),
        "graphql_rate_limit": lambda: Fault.graphql_rate_limit(int(spec.get("reset_in", 60))),
        "delay": lambda: Fault.delay(float(spec.get("seconds", 1.0))),
        "reset": Fault.reset,
    }
    if kind not in builders:
        raise SimError(422, f"fault kind must be one of {sorted(builders)}")
    times = spec.get("times", 1)
    rule = sim_of(request).faults.inject(
        str(spec.get("method", "*")), str(spec["path"]), builders[kind](), times
    )
    return {"rule": f"{rule.method} {rule.path} {kind}"}


@router.delete("/faults")
def clear_faults(request: Request) -> dict[str, bool]:
    sim_of(request).faults.clear()
    return {"cleared": True}


@router.get("/pulls/{owner}/{repo}/{number}")
def pull_state(request: Request, owner: str, repo: str, number: int) -> dict[str, Any]:
    """A PR with its reviews and check runs (annotations included) in one answer."""
    sim = sim_of(request)
    with sim.lock:
        pr = sim.pr(f"{owner}/{repo}#{number}")
        runs = sorted(sim.check_runs_for(pr.repo, pr.head_sha), key=lambda c: c.id)
        return {
            "pull_request": shapes_pull.pull_request(sim.world, pr),
            "merge_bypassed": pr.merge_bypassed,
            "reviews": [shapes_pull.review(sim.world, r) for r in sim.reviews_of(pr)],
            "check_runs": [
                {**shapes_pull.check_run(sim.world, c), "annotations": c.annotations} for c in runs
            ],
        }
