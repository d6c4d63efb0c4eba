"""HTTP plumbing shared by the simulator's routes: errors, auth, pagination, the request log.

The outer ASGI middleware records every API request as `METHOD /path > status` (path relative
to `/api/v3`, GraphQL as `/graphql`, no query) and applies injected faults before routing, so a
fault looks to the client exactly like GitHub failing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.sim import permissions, shapes, taps
from app.sim.auth import AuthFailure, IssuedToken, bearer, verify_app_jwt
from app.sim.faults import Fault, FiredFault
from app.sim.state import Installation, Repo, SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

API_PREFIX = "/api/v3"
GRAPHQL_PATH = "/api/graphql"


class ConnectionDropped(Exception):
    """Raised after the response started: uvicorn then closes the socket mid-response."""


def relative_path(path: str) -> str | None:
    """The request-log form of an API path; None for the control API (not logged)."""
    if path.startswith("/_sim"):
        return None
    if path == GRAPHQL_PATH:
        return "/graphql"
    if path.startswith(API_PREFIX + "/") or path == API_PREFIX:
        return path[len(API_PREFIX) :] or "/"
    return path


def is_github_api(path: str) -> bool:
    """GitHub's REST API or GraphQL endpoint: what GitHub's published descriptions cover (not
    the github.com pages of the manifest flow, nor the simulated OIDC issuer)."""
    return path == GRAPHQL_PATH or path == API_PREFIX or path.startswith(API_PREFIX + "/")


def error_response(
    status: int, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(shapes.error(message, status), status_code=status, headers=headers)


class RequestLogAndFaults:
    """ASGI middleware: apply a matching fault, else pass through; log `METHOD /path > status`."""

    def __init__(self, app: ASGIApp, sim: Simulator) -> None:
        self.app = app
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        rel = relative_path(scope["path"])
        if rel is None:
            await self.app(scope, receive, send)
            return
        fault = self.sim.faults.take(method, rel)
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        elif fault is not None:
            await self._fault(fault, method, rel, send)
            return
        if taps.active() and is_github_api(scope["path"]):
            await self._tapped(scope, receive, send, method, rel)
            return

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.sim.requests.append(f"{method} {rel} > {message['status']}")
            await send(message)

        await self.app(scope, receive, record)

    async def _tapped(
        self, scope: Scope, receive: Receive, send: Send, method: str, rel: str
    ) -> None:
        """Serve as usual, and publish the whole exchange to the taps (app.sim.taps)."""
        request_body: list[bytes] = []
        response_body: list[bytes] = []
        start: dict[str, Any] = {}

        async def tee_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                request_body.append(message.get("body", b""))
            return message

        async def tee_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                self.sim.requests.append(f"{method} {rel} > {message['status']}")
            elif message["type"] == "http.response.body":
                response_body.append(message.get("body", b""))
            await send(message)

        await self.app(scope, tee_receive, tee_send)
        headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
        raw_path = scope.get("raw_path") or scope["path"].encode()
        taps.publish(
            taps.Exchange(
                method=method,
                path=relative_path(raw_path.decode("latin-1").split("?", 1)[0]) or rel,
                query=scope.get("query_string", b"").decode("latin-1"),
                status=int(start.get("status", 0)),
                content_type=headers.get("content-type", ""),
                request_body=b"".join(request_body),
                response_body=b"".join(response_body),
            )
        )

    async def _fault(self, fault: Fault, method: str, rel: str, send: Send) -> None:
        if fault.kind == "reset":
            self.sim.requests.append(f"{method} {rel} > reset")
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
            raise ConnectionDropped(f"simulated connection reset for {method} {rel}")
        self.sim.requests.append(f"{method} {rel} > {fault.status}")
        headers = dict(fault.response_headers())
        self.sim.faults.fired.append(FiredFault(method, rel, fault.kind, fault.status, headers))
        body = fault.body()
        response = (
            JSONResponse(body, status_code=fault.status, headers=headers)
            if body is not None
            else error_response(fault.status, fault.message, headers)
        )
        if taps.active() and rel != "/graphql":  # a GraphQL fault has no query to validate
            taps.publish(
                taps.Exchange(
                    method, rel, "", fault.status, "application/json", b"", bytes(response.body)
                )
            )

        async def no_receive() -> Message:
            return {"type": "http.disconnect"}

        await response({"type": "http"}, no_receive, send)


def sim_of(request: Request) -> Simulator:
    """The Simulator this request's app serves (`app.state.sim`, set when the app is made)."""
    sim: Simulator = request.app.state.sim
    return sim


def app_auth(sim: Simulator, request: Request) -> None:
    """Require the App JWT (AuthFailure → 401)."""
    app = sim.world.app
    if app is None:
        raise AuthFailure("no App configured in the simulator (Simulator.set_app)")
    token = bearer(request.headers.get("authorization"))
    verify_app_jwt(token, public_key_pem=app.public_key_pem, app_id=app.id, now=sim.now())


def installation_token(sim: Simulator, request: Request) -> tuple[IssuedToken, Installation]:
    """Require a valid, unexpired installation token; the token and its installation."""
    issued = sim.tokens.check(bearer(request.headers.get("authorization")), sim.now())
    inst = sim.world.installations.get(issued.installation_id)
    if inst is None:
        raise AuthFailure("Bad credentials (installation removed)")
    if inst.suspended:
        raise SimError(403, "This installation has been suspended")
    return issued, inst


def installation_auth(sim: Simulator, request: Request) -> Installation:
    """An installation token allowed to call this endpoint (403 like GitHub when the token lacks
    the permission the endpoint needs)."""
    issued, inst = installation_token(sim, request)
    rel = relative_path(request.url.path) or ""
    need = permissions.required(request.method, rel)
    if need is not None and not permissions.token_grants(
        issued.permissions, inst.permissions, *need
    ):
        raise SimError(403, permissions.NOT_ACCESSIBLE)
    return inst


def repo_access(sim: Simulator, request: Request, owner: str, name: str) -> Repo:
    """The repository, if the caller's installation can see it (else 404, as GitHub hides it)."""
    inst = installation_auth(sim, request)
    repo = sim.world.repo(f"{owner}/{name}")
    if repo is None or sim.world.installation_for(repo.full_name) is not inst:
        raise SimError(404, "Not Found")
    return repo


def page_params(request: Request, default: int = 30) -> tuple[int, int]:
    """(page, per_page) from the query, clamped like GitHub (per_page ≤ 100)."""

    def number(name: str, fallback: int) -> int:
        raw = request.query_params.get(name, "")
        return int(raw) if raw.isdigit() and int(raw) > 0 else fallback

    return number("page", 1), min(number("per_page", default), 100)


def paginate(
    request: Request, items: list[Any], default: int = 30
) -> tuple[list[Any], dict[str, str]]:
    """One page of `items` and its `Link` header (first/prev/next/last, absolute URLs)."""
    page, per_page = page_params(request, default)
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    base = str(request.url).split("?", 1)[0]
    query = {k: v for k, v in request.query_params.items() if k not in {"page", "per_page"}}

    def url(target: int) -> str:
        return f"{base}?{urlencode({**query, 'per_page': per_page, 'page': target})}"

    links = []
    if page > 1:
        links += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
    if page < last:
        links += [f'<{url(page + 1)}>; rel="next"', f'<{url(last)}>; rel="last"']
    return chunk, ({"Link": ", ".join(links)} if links else {})
