"""`/mcp`: the MCP tools over Streamable HTTP, for agents holding a pre-flight token.

Stateless and JSON-answered: every POST stands alone, so any web process can answer it and no
session outlives a revoked token. A request without a registered agent's bearer token is
refused with 401 before the MCP layer reads its body; each tool call is then admitted by the
`RuntimeDoor` (rate, caps, deadline, counting). DNS-rebinding checks are off: a browser cannot
attach the bearer token, and the service answers on whatever host it is deployed under.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from app.config.settings import Settings
from app.runtime.context import Runtime
from app.service.mcp_door import UNAUTHORIZED, RuntimeDoor, bearer_token

ENVELOPE_BYTES = 16 * 1024
"""JSON-RPC framing around a tool's arguments, on top of COUNTERSIGN_ANALYZE_MAX_BYTES."""


class _Endpoint:
    """401 unless the bearer token is a registered agent's; then the SDK's session manager."""

    def __init__(self, app: FastAPI, handle: Callable[[Scope, Receive, Send], Any]) -> None:
        self._app = app
        self._handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rt: Runtime = self._app.state.runtime
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if rt.gate.policy.registry.agent_for_token(bearer_token(headers)) is None:
            response = JSONResponse(
                {"detail": UNAUTHORIZED}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        await self._handle(scope, receive, send)


def mount_mcp(app: FastAPI, settings: Settings) -> None:
    """Serve the tools at `/mcp` and run the SDK's session manager in the app's lifespan."""
    from app.mcp.server import build_server

    server = build_server(RuntimeDoor(lambda: app.state.runtime, bearer_token))
    server.streamable_http_app(
        stateless_http=True,
        json_response=True,
        max_request_body_size=settings.analyze_max_bytes + ENVELOPE_BYTES,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    manager = server.session_manager
    endpoint = _Endpoint(app, manager.handle_request)
    app.router.routes.append(Route("/mcp", endpoint=endpoint, methods=["GET", "POST", "DELETE"]))
    app.router.lifespan_context = _with_manager(app.router.lifespan_context, manager.run)


def _with_manager(
    inner: Callable[[Any], AbstractAsyncContextManager[Any]],
    run: Callable[[], AbstractAsyncContextManager[None]],
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        async with inner(app) as state, run():
            yield state

    return lifespan
