"""GitHub's App manifest flow, simulated: the registration form target and the code exchange.

Real GitHub: a browser POSTs a form field `manifest` (JSON) to `/settings/apps/new?state=…` (or
`/organizations/{org}/settings/apps/new`); the signed-in user confirms the name; GitHub registers
the App and redirects to the manifest's `redirect_url` with `?code=…&state=…`. The code is valid
for one hour, once: `POST /app-manifests/{code}/conversions` (no authentication) answers 201 with
the App plus its `pem`, `webhook_secret`, `client_id` and `client_secret`.

The simulator skips the confirmation page (the POST stands for the user's click) and registers a
real App: a fresh RSA key, so the returned credentials authenticate against the simulator.
"""

from __future__ import annotations

import json
import secrets
import weakref
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from app.sim import shapes
from app.sim.apiutil import error_response
from app.sim.auth import app_key_pair
from app.sim.simulator import Simulator

web_router = APIRouter()
api_router = APIRouter()
CODE_LIFETIME = timedelta(hours=1)
SIGNED_IN_USER = "octocat"
"""Who "is signed in" when a manifest is posted to the personal-account form."""


@dataclass
class PendingManifest:
    manifest: dict[str, Any]
    owner: str
    created_at: datetime


_CODES: weakref.WeakKeyDictionary[Simulator, dict[str, PendingManifest]] = (
    weakref.WeakKeyDictionary()
)


def _pending(sim: Simulator) -> dict[str, PendingManifest]:
    """Codes handed out and not yet exchanged, per simulator (call with `sim.lock` held)."""
    return _CODES.setdefault(sim, {})


def _validate(raw: str) -> dict[str, Any]:
    """GitHub's checks on the manifest: JSON object, `url` and `hook_attributes.url` present."""
    try:
        manifest = json.loads(raw)
    except ValueError as error:
        raise ValueError(f"manifest is not valid JSON: {error}") from error
    if not isinstance(manifest, dict):
        raise ValueError("manifest must be a JSON object")
    if not isinstance(manifest.get("url"), str) or not manifest["url"]:
        raise ValueError('manifest "url" is required')
    hook = manifest.get("hook_attributes")
    if hook is not None and (not isinstance(hook, dict) or not isinstance(hook.get("url"), str)):
        raise ValueError('manifest "hook_attributes.url" must be a URL')
    if not isinstance(manifest.get("redirect_url"), str):
        raise ValueError('manifest "redirect_url" is required for the manifest flow')
    return manifest


async def _register(request: Request, owner: str | None) -> Response:
    sim: Simulator = request.app.state.sim
    # An HTML form posts application/x-www-form-urlencoded (parsed here: no multipart needed).
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    values = form.get("manifest")
    if not values:
        return error_response(422, 'form field "manifest" is required')
    try:
        manifest = _validate(values[0])
    except ValueError as error:
        return error_response(422, str(error))
    code = secrets.token_hex(10)
    who = owner or SIGNED_IN_USER
    with sim.lock:
        _pending(sim)[code] = PendingManifest(manifest, who, sim.now())
    query = {"code": code}
    state = request.query_params.get("state")
    if state is not None:
        query["state"] = state
    return RedirectResponse(f"{manifest['redirect_url']}?{urlencode(query)}", status_code=302)


@web_router.post("/settings/apps/new")
async def register_for_user(request: Request) -> Response:
    return await _register(request, None)


@web_router.post("/organizations/{org}/settings/apps/new")
async def register_for_org(request: Request, org: str) -> Response:
    return await _register(request, org)


def _slug(name: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-")
    return "-".join(part for part in slug.split("-") if part) or "app"


@api_router.post("/app-manifests/{code}/conversions")
def convert(request: Request, code: str) -> Response:
    """Exchange a manifest code for the new App's credentials (once, within the hour)."""
    sim: Simulator = request.app.state.sim
    with sim.lock:
        pending = _pending(sim).pop(code, None)
    if pending is None or sim.now() - pending.created_at > CODE_LIFETIME:
        return error_response(404, "Not Found")
    manifest = pending.manifest
    pem, public = app_key_pair()
    webhook_secret = secrets.token_hex(20)
    hook = manifest.get("hook_attributes") or {}
    name = str(manifest.get("name") or f"{pending.owner}-app")
    app = sim.set_app(
        sim.world.new_id(),
        public,
        webhook_url=hook.get("url") if hook.get("active", True) else None,
        webhook_secret=webhook_secret,
        slug=_slug(name),
        owner=pending.owner,
    )
    with sim.lock:
        app.name = name
        app.events = tuple(str(e) for e in manifest.get("default_events") or ())
        body = shapes.integration(sim.world)
    body.update(
        description=manifest.get("description") or "",
        external_url=manifest["url"],
        permissions=dict(manifest.get("default_permissions") or {}),
        client_secret=app.client_secret,
        webhook_secret=webhook_secret,
        pem=pem,
    )
    return JSONResponse(body, status_code=201)


def forget(sim: Simulator) -> None:
    """Drop what this module keeps for `sim` (its reset starts from nothing)."""
    _CODES.pop(sim, None)
