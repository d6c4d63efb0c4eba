"""GitHub's OAuth user flow for GitHub Apps, simulated: authorize, code exchange, `GET /user`.

Real GitHub (docs: "Generating a user access token for a GitHub App"):
- `GET /login/oauth/authorize?client_id&redirect_uri&state` shows the signed-in user a consent
  page, then redirects to `redirect_uri?code=…&state=…` (state echoed unchanged). A
  `redirect_uri` that is not one of the App's callback URLs is refused.
- `POST /login/oauth/access_token` (client_id, client_secret, code, redirect_uri; form or query)
  answers **200 even on failure**, with `{"error": "bad_verification_code" |
  "incorrect_client_credentials" | "redirect_uri_mismatch", …}`; JSON only with
  `Accept: application/json`, else form-encoded. A code is valid 10 minutes, once.
- `GET /user` with the user token answers the user; an installation token gets 403.

The simulator has no password page: the user configured as signed in (`Simulator.oauth_sign_in`,
or the small form shown when nobody is) consents at once.
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.sim import shapes
from app.sim.apiutil import error_response, sim_of
from app.sim.auth import AuthFailure, bearer
from app.sim.state import OAuthCode, SimError

web_router = APIRouter()
api_router = APIRouter()
CODE_LIFETIME = timedelta(minutes=10)
DOCS = "https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/"


def _callback_ok(registered: tuple[str, ...], redirect_uri: str) -> bool:
    """GitHub accepts a registered callback URL, or a path below one on the same host and port."""
    given = urlsplit(redirect_uri)
    for url in registered:
        own = urlsplit(url)
        if (given.scheme, given.netloc) == (own.scheme, own.netloc) and (
            given.path == own.path or given.path.startswith(own.path.rstrip("/") + "/")
        ):
            return True
    return False


def _page(status: int, title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1>{body}",
        status_code=status,
    )


@web_router.get("/login/oauth/authorize")
def authorize(request: Request) -> Response:
    """Consent as the signed-in user and redirect with a single-use code and the state."""
    sim = sim_of(request)
    params = request.query_params
    client_id = params.get("client_id", "")
    with sim.lock:
        app = sim.world.app
        if app is None or client_id != app.client_id:
            return _page(404, "Not Found", "<p>No application has this client_id.</p>")
        redirect_uri = params.get("redirect_uri") or (
            app.callback_urls[0] if app.callback_urls else ""
        )
        if not redirect_uri or not _callback_ok(app.callback_urls, redirect_uri):
            return _page(
                400,
                "Redirect URI mismatch",
                "<p>The redirect_uri is not associated with this application.</p>",
            )
        login = sim.world.signed_in
        if login is None:
            return _sign_in_form(request)
        code = secrets.token_hex(10)
        sim.world.oauth_codes[code] = OAuthCode(client_id, login, redirect_uri, sim.now())
    query = {"code": code}
    if "state" in params:
        query["state"] = params["state"]
    return RedirectResponse(f"{redirect_uri}?{urlencode(query)}", status_code=302)


def _sign_in_form(request: Request) -> HTMLResponse:
    action = escape(f"/login/session?{urlencode({'return_to': str(request.url)})}")
    return _page(
        200,
        "Sign in to the GitHub simulator",
        f'<form method="post" action="{action}"><label>Login <input name="login" '
        'autofocus></label> <button type="submit">Sign in</button></form>',
    )


@web_router.post("/login/session")
async def sign_in(request: Request) -> Response:
    """The simulator's sign-in form: any known user, no password (loopback test tool only)."""
    sim = sim_of(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    login = (form.get("login") or [""])[0].strip()
    back = request.query_params.get("return_to", "/")
    if urlsplit(back).netloc not in ("", request.url.netloc):
        back = "/"
    try:
        sim.oauth_sign_in(login)
    except SimError as error:
        return _page(error.status, "Sign-in failed", f"<p>{escape(error.message)}</p>")
    return RedirectResponse(back, status_code=302)


@web_router.post("/login/oauth/access_token")
async def access_token(request: Request) -> Response:
    """Exchange a code for a user access token (errors are 200 with an `error` field)."""
    sim = sim_of(request)
    raw = (await request.body()).decode("utf-8", "replace")
    fields: dict[str, str] = {k: v[0] for k, v in parse_qs(request.url.query).items()}
    if raw.lstrip().startswith("{"):
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        fields.update({k: str(v) for k, v in body.items()} if isinstance(body, dict) else {})
    else:
        fields.update({k: v[0] for k, v in parse_qs(raw).items()})
    wants_json = "application/json" in request.headers.get("accept", "")
    with sim.lock:
        app = sim.world.app
        if (
            app is None
            or fields.get("client_id") != app.client_id
            or not secrets.compare_digest(
                fields.get("client_secret", "").encode(), app.client_secret.encode()
            )
        ):
            return _answer(
                _error(
                    "incorrect_client_credentials",
                    "The client_id and/or client_secret passed are incorrect.",
                ),
                wants_json,
            )
        pending = sim.world.oauth_codes.get(fields.get("code", ""))
        if pending is None or sim.now() - pending.created_at > CODE_LIFETIME:
            sim.world.oauth_codes.pop(fields.get("code", ""), None)
            return _answer(
                _error("bad_verification_code", "The code passed is incorrect or expired."),
                wants_json,
            )
        redirect_uri = fields.get("redirect_uri")
        if redirect_uri is not None and redirect_uri != pending.redirect_uri:
            return _answer(
                _error(
                    "redirect_uri_mismatch",
                    "The redirect_uri MUST match the registered callback URL for this application.",
                ),
                wants_json,
            )
        del sim.world.oauth_codes[fields["code"]]
        token = "ghu_" + secrets.token_urlsafe(27)[:36]
        sim.world.user_tokens[token] = pending.login
    return _answer({"access_token": token, "token_type": "bearer", "scope": ""}, wants_json)


def _error(code: str, description: str) -> dict[str, str]:
    return {"error": code, "error_description": description, "error_uri": DOCS}


def _answer(body: dict[str, Any], wants_json: bool) -> Response:
    if wants_json:
        return JSONResponse(body)
    return Response(urlencode(body), media_type="application/x-www-form-urlencoded")


@api_router.get("/user")
def authenticated_user(request: Request) -> JSONResponse:
    """The user a user access token acts for; 401 without one, 403 for an installation token."""
    sim = sim_of(request)
    token = bearer(request.headers.get("authorization"))
    with sim.lock:
        login = sim.world.user_tokens.get(token)
        if login is None:
            if token.startswith("ghs_"):
                return error_response(403, "Resource not accessible by integration")
            raise AuthFailure("Bad credentials")
        return JSONResponse(shapes.public_user(sim.world, login))
