"""Mount the console on the service app: routes, stylesheet, security headers, error pages.

Unauthenticated requests never see audit data: a page (GET asking for HTML) redirects to
sign-in; anything else (downloads, POSTs, JSON) answers 401. Errors under `/console` are HTML
pages; the rest of the service keeps FastAPI's JSON errors.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.console import auth, exports, pages
from app.console.auth import NotSignedIn, clear_cookie, login_redirect, set_cookie
from app.console.session import SESSION_COOKIE
from app.console.views import SECURITY_HEADERS, STATIC, render

PREFIX = "/console"


def _is_console(request: Request) -> bool:
    return request.url.path == PREFIX or request.url.path.startswith(PREFIX + "/")


class ConsoleHeaders:
    """ASGI middleware for `/console` responses only (the webhook path is left untouched): the
    security headers, and the session cookie a membership re-check refreshed or revoked."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    if name not in headers:
                        headers[name] = value
                for cookie in _session_cookie(Request(scope)):
                    headers.append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _session_cookie(request: Request) -> list[str]:
    """The Set-Cookie value a re-check asked for (refreshed or cleared), if any."""
    state = request.scope.get("state") or {}
    carrier = Response()
    if state.get("console_clear_session"):
        clear_cookie(carrier, request, SESSION_COOKIE)
    elif state.get("console_session_cookie") is not None:
        value, max_age = state["console_session_cookie"]
        set_cookie(carrier, request, SESSION_COOKIE, value, max_age)
    return carrier.headers.getlist("set-cookie")


def _without_trailing_slash(request: Request) -> str | None:
    """`/console/merges/` → `/console/merges` (with the query), as a path on this host; None when
    the path has no trailing slash or would read as another host (`//evil.example`, `/\\x`)."""
    path = request.url.path
    target = path.rstrip("/")
    if target == path or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    query = request.url.query
    return f"{target}?{query}" if query else target


def mount_console(app: FastAPI) -> None:
    """Add the console to `app` (it answers 503 until its settings are complete)."""
    app.include_router(auth.router)
    app.include_router(pages.router)
    app.include_router(exports.router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")

    app.add_middleware(ConsoleHeaders)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _error: NotSignedIn) -> Response:
        wants_page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
        if wants_page:
            return RedirectResponse(login_redirect(request), status_code=303)
        return render(
            request,
            "error.html.j2",
            status=401,
            title="Sign in required",
            message="Sign in with GitHub to see the audit trail.",
        )

    @app.exception_handler(StarletteHTTPException)
    async def console_errors(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404 and request.method in ("GET", "HEAD"):
            target = _without_trailing_slash(request)
            if target is not None:  # relative: never a URL built from the Host header
                return RedirectResponse(target, status_code=307)
        if not _is_console(request):
            return await http_exception_handler(request, error)
        titles = {
            400: "Bad request",
            401: "Sign in required",
            403: "Not allowed",
            404: "Not found",
            409: "Not recorded",
            413: "Too large",
            429: "Slow down",
            503: "Unavailable",
        }
        response = render(
            request,
            "error.html.j2",
            status=error.status_code,
            title=titles.get(error.status_code, "Error"),
            message=str(error.detail),
        )
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response
