"""The simulator's ASGI app: GitHub's REST subset under `/api/v3`, GraphQL at `/api/graphql`, and
the control API under `/_sim` — wrapped by the request log and fault injection."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from app.sim import (
    api_app,
    api_compare,
    api_deployments,
    api_issues,
    api_repos,
    control,
    manifests,
    oauth,
    oidc,
)
from app.sim.apiutil import API_PREFIX, RequestLogAndFaults, error_response
from app.sim.auth import AuthFailure
from app.sim.state import SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator


def create_app(sim: Simulator) -> ASGIApp:
    """An ASGI app serving `sim` (no lifespan work: all state lives in the Simulator)."""
    app = FastAPI(title="Countersign GitHub simulator", openapi_url=None, docs_url=None)
    app.state.sim = sim
    app.include_router(api_app.router, prefix=API_PREFIX)
    app.include_router(api_repos.router, prefix=API_PREFIX)
    app.include_router(api_compare.router, prefix=API_PREFIX)
    app.include_router(api_issues.router, prefix=API_PREFIX)
    app.include_router(api_deployments.router, prefix=API_PREFIX)
    app.include_router(api_repos.graphql_router)
    app.include_router(control.router, prefix="/_sim")
    app.include_router(oidc.router)
    app.include_router(manifests.api_router, prefix=API_PREFIX)
    app.include_router(manifests.web_router)  # github.com pages: the manifest form target
    app.include_router(oauth.api_router, prefix=API_PREFIX)
    app.include_router(oauth.web_router)  # github.com pages: the OAuth user flow

    @app.exception_handler(SimError)
    async def sim_error(_: Request, exc: SimError) -> JSONResponse:
        return error_response(exc.status, exc.message)

    @app.exception_handler(AuthFailure)
    async def auth_failure(_: Request, exc: AuthFailure) -> JSONResponse:
        return error_response(401, str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = "Not Found" if exc.status_code == 404 else str(exc.detail)
        if exc.status_code in {404, 405}:
            message += f" (the simulator has no route {request.method} {request.url.path})"
        return error_response(exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, f"Invalid request.\n\n{exc.errors()}")

    return RequestLogAndFaults(app, sim)
