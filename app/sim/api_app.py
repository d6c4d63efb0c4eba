"""Routes authenticated as the App (JWT): the App, installations, tokens and hook deliveries."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.sim import permissions, shapes
from app.sim.apiutil import app_auth, installation_auth, page_params, paginate, sim_of
from app.sim.state import SimError, iso
from app.sim.webhooks import Delivery

router = APIRouter()


@router.get("/app")
def get_app(request: Request) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    with sim.lock:
        # Only GET /app counts installations; the App inside check runs and webhooks does not.
        body = {
            **shapes.integration(sim.world),
            "installations_count": len(sim.world.installations),
        }
        return JSONResponse(body)


@router.get("/app/installations")
def list_installations(request: Request) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    with sim.lock:
        page, headers = paginate(request, list(sim.world.installations.values()))
        items = [shapes.installation(sim.world, i) for i in page]
    return JSONResponse(items, headers=headers)


@router.get("/app/installations/{installation_id}")
def get_installation(request: Request, installation_id: int) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    with sim.lock:
        inst = sim.world.installations.get(installation_id)
        if inst is None:
            raise SimError(404, "Not Found")
        return JSONResponse(shapes.installation(sim.world, inst))


@router.post("/app/installations/{installation_id}/access_tokens")
async def create_token(request: Request, installation_id: int) -> JSONResponse:
    """A token with the installation's permissions, or the subset the body asks for (GitHub
    refuses a permission the installation did not grant with 422)."""
    sim = sim_of(request)
    app_auth(sim, request)
    raw = await request.body()
    try:
        wanted = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise SimError(400, "Problems parsing JSON") from exc
    with sim.lock:
        inst = sim.world.installations.get(installation_id)
        if inst is None:
            raise SimError(404, "Not Found")
        if inst.suspended:
            raise SimError(403, "This installation has been suspended")
        granted = dict(inst.permissions)
        asked = wanted.get("permissions") if isinstance(wanted, dict) else None
        if isinstance(asked, dict) and asked:
            for name, level in asked.items():
                if level not in {"read", "write"} or not permissions.grants(granted, name, level):
                    raise SimError(
                        422, "The permissions requested are not granted to this installation."
                    )
            granted = {str(k): str(v) for k, v in asked.items()}
        issued = sim.tokens.issue(installation_id, sim.now(), granted)
        body = {
            "token": issued.token,
            "expires_at": iso(issued.expires_at),
            "permissions": dict(granted),
            "repository_selection": "all" if inst.repositories is None else "selected",
        }
    return JSONResponse(body, status_code=201)


@router.get("/repos/{owner}/{repo}/installation")
def get_repo_installation(request: Request, owner: str, repo: str) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    with sim.lock:
        inst = sim.world.installation_for(f"{owner}/{repo}")
        if inst is None:
            raise SimError(404, "Not Found")
        return JSONResponse(shapes.installation(sim.world, inst))


@router.get("/orgs/{org}/installation")
def get_org_installation(request: Request, org: str) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    with sim.lock:
        inst = next(
            (
                i
                for i in sim.world.installations.values()
                if i.account.lower() == org.lower() and not i.suspended
            ),
            None,
        )
        if inst is None:
            raise SimError(404, "Not Found")
        return JSONResponse(shapes.installation(sim.world, inst))


def _item(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "guid": d.guid,
        "delivered_at": iso(d.delivered_at),
        "redelivery": d.redelivery,
        "duration": d.duration,
        "status": d.status,
        "status_code": d.status_code,
        "event": d.event,
        "action": d.action,
        "installation_id": d.installation_id,
        "repository_id": d.repository_id,
        "throttled_at": None,
    }


@router.get("/app/hook/deliveries")
def list_deliveries(request: Request) -> JSONResponse:
    """Newest first; `cursor` is the id to continue below (GitHub pages by cursor)."""
    sim = sim_of(request)
    app_auth(sim, request)
    _, per_page = page_params(request)
    cursor = request.query_params.get("cursor", "")
    items = sorted(sim.deliveries, key=lambda d: d.id, reverse=True)
    if cursor.isdigit():
        items = [d for d in items if d.id < int(cursor)]
    chunk = items[:per_page]
    headers = {}
    if len(items) > per_page:
        base = str(request.url).split("?", 1)[0]
        headers["Link"] = f'<{base}?per_page={per_page}&cursor={chunk[-1].id}>; rel="next"'
    return JSONResponse([_item(d) for d in chunk], headers=headers)


@router.get("/app/hook/deliveries/{delivery_id}")
def get_delivery(request: Request, delivery_id: int) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    found = next((d for d in sim.deliveries if d.id == delivery_id), None)
    if found is None:
        raise SimError(404, "Not Found")
    return JSONResponse(
        {
            **_item(found),
            "url": found.request_headers.get("X-GitHub-Hook-ID", ""),
            "request": {"headers": found.request_headers, "payload": found.payload},
            "response": {"headers": found.response_headers, "payload": found.response_body},
        }
    )


@router.post("/app/hook/deliveries/{delivery_id}/attempts")
def redeliver(request: Request, delivery_id: int) -> JSONResponse:
    sim = sim_of(request)
    app_auth(sim, request)
    sim.redeliver(delivery_id, via_api=True)
    return JSONResponse({}, status_code=202)


@router.get("/installation/repositories")
def installation_repositories(request: Request) -> JSONResponse:
    """Repositories the calling installation token can access (GitHub's response envelope)."""
    sim = sim_of(request)
    with sim.lock:
        inst = installation_auth(sim, request)
        repos = [
            repo
            for repo in sorted(sim.world.repos.values(), key=lambda r: r.id)
            if sim.world.installation_for(repo.full_name) is inst
        ]
        page, headers = paginate(request, repos)
        body = {
            "total_count": len(repos),
            "repository_selection": "all" if inst.repositories is None else "selected",
            "repositories": [shapes.repository(sim.world, repo) for repo in page],
        }
    return JSONResponse(body, headers=headers)
