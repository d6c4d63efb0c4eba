"""Console sign-in: GitHub's OAuth user flow, team membership, signed sessions, rate limits.

`/console/login` binds a random `state` to a short-lived signed pre-login cookie and sends the
browser to GitHub; `/console/callback` checks that state, exchanges the code, asks `GET /user`
who signed in and, with the App's installation token, whether they are an active member of a
team in `COUNTERSIGN_CONSOLE_TEAMS`. Members get a session cookie (HttpOnly, SameSite=Lax,
Secure except on plain-HTTP localhost); everyone else a 403 page. Each request re-checks the
membership once it is older than `COUNTERSIGN_CONSOLE_RECHECK_MINUTES`; GitHub unreachable then
means 503, never a pass. Without its settings the console answers 503 to everything.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.config.settings import Settings
from app.console import csrf
from app.console.session import (
    LOGIN_COOKIE,
    LOGIN_SECONDS,
    SESSION_COOKIE,
    PendingLogin,
    Session,
    Signer,
    decode_pending,
    decode_session,
    encode_pending,
    encode_session,
    new_session,
)
from app.core.errors import GitHubError, GitHubUnavailable
from app.runtime.context import Runtime
from app.runtime.logging import log

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
HOME = "/console/merges"


class NotSignedIn(Exception):
    """No valid session: pages redirect to sign-in, everything else answers 401."""


class RateLimiter:
    """At most `per_minute` attempts per client IP in any 60 seconds (sliding window)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str, now: float | None = None) -> int:
        """0 and the attempt is counted, or the whole seconds to wait."""
        moment = time.monotonic() if now is None else now
        with self._lock:
            if len(self._seen) > 10_000:  # forget idle clients so the table cannot grow forever
                self._seen = {k: v for k, v in self._seen.items() if v and moment - v[-1] < 60}
            times = self._seen.setdefault(client, deque())
            while times and moment - times[0] >= 60:
                times.popleft()
            if len(times) >= self.per_minute:
                return max(1, int(60 - (moment - times[0])) + 1)
            times.append(moment)
            return 0


@dataclass
class ConsoleContext:
    """What the console routes share, built once per app from the runtime's settings."""

    settings: Settings
    signer: Signer
    login_signer: Signer
    limiter: RateLimiter
    teams: tuple[str, ...] = field(default=())


def context(request: Request) -> ConsoleContext:
    """The console's context; 503 "console not configured" when any setting is missing."""
    existing: ConsoleContext | None = getattr(request.app.state, "console", None)
    if existing is not None:
        return existing
    runtime: Runtime | None = getattr(request.app.state, "runtime", None)
    if runtime is None:
        raise HTTPException(503, "console not configured: the service is still starting")
    settings = runtime.settings
    missing = settings.console_missing()
    if missing or runtime.github is None or settings.console_session_secret is None:
        raise HTTPException(503, "console not configured: set " + ", ".join(missing or ["the App"]))
    secret = settings.console_session_secret.get_secret_value()
    built = ConsoleContext(
        settings=settings,
        signer=Signer(secret, "session"),
        login_signer=Signer(secret, "login"),
        limiter=RateLimiter(settings.console_login_rate_per_minute),
        teams=settings.console_team_list(),
    )
    request.app.state.console = built
    return built


Context = Annotated[ConsoleContext, Depends(context)]
router = APIRouter(prefix="/console", dependencies=[Depends(context)])


def secure_cookies(request: Request) -> bool:
    """Secure everywhere except plain HTTP on a loopback host (local development, the demo)."""
    return not (request.url.scheme == "http" and (request.url.hostname or "") in LOCAL_HOSTS)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        secure=secure_cookies(request),
        samesite="lax",
    )


def clear_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/console", httponly=True, secure=secure_cookies(request), samesite="lax"
    )


def _rate_limit(ctx: ConsoleContext, request: Request) -> None:
    client = request.client.host if request.client else "unknown"
    wait = ctx.limiter.retry_after(client)
    if wait:
        raise HTTPException(
            429, "too many sign-in attempts; try again later", headers={"Retry-After": str(wait)}
        )


def _next_path(value: str | None) -> str:
    """Only a console path of this site (no `//host`, no scheme): never an open redirect."""
    if value and value.startswith("/console/") and not value.startswith("//"):
        if "\\" not in value and "\n" not in value and "\r" not in value:
            return value
    return HOME


def callback_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/console/callback"


@router.get("/login", include_in_schema=False)
def login(request: Request, ctx: Context, next: str | None = None) -> Response:
    """Start GitHub sign-in: a fresh state in a signed pre-login cookie, then GitHub."""
    from app.github.oauth import authorize_url

    _rate_limit(ctx, request)
    state = secrets.token_urlsafe(32)
    pending = PendingLogin(state, _next_path(next), time.time() + LOGIN_SECONDS)
    assert ctx.settings.oauth_client_id is not None
    target = authorize_url(
        ctx.settings.web_url(), ctx.settings.oauth_client_id, callback_url(ctx.settings), state
    )
    response = RedirectResponse(target, status_code=302)
    set_cookie(
        response, request, LOGIN_COOKIE, encode_pending(ctx.login_signer, pending), LOGIN_SECONDS
    )
    return response


def _github(request: Request) -> object:
    runtime: Runtime = request.app.state.runtime
    return runtime.github


def check_teams(request: Request, ctx: ConsoleContext, login: str) -> tuple[str, ...]:
    """The allowed teams `login` is an active member of (503 when GitHub cannot say)."""
    from app.github.client import GitHubApp
    from app.github.oauth import active_teams

    github = _github(request)
    assert isinstance(github, GitHubApp)
    try:
        return active_teams(github, login, ctx.teams)
    except GitHubUnavailable as error:
        log.warning("console.team_check_unavailable", login=login, error=str(error)[:200])
        raise HTTPException(503, "cannot check team membership with GitHub; try again") from error
    except GitHubError as error:
        log.warning("console.team_check_failed", login=login, error=str(error)[:200])
        raise HTTPException(503, f"GitHub refused the team membership check: {error}") from error


def forbidden(login: str, ctx: ConsoleContext) -> HTTPException:
    return HTTPException(
        403,
        f"{login} is not an active member of a team allowed into the console "
        f"({', '.join('@' + t for t in ctx.teams)}); ask an organization owner to add you",
    )


@router.get("/callback", include_in_schema=False)
def callback(
    request: Request,
    ctx: Context,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
) -> Response:
    """GitHub's redirect back: state, code exchange, user, teams, session."""
    from app.github.oauth import OAuthRefused, exchange_code, signed_in_login

    _rate_limit(ctx, request)
    pending = decode_pending(ctx.login_signer, request.cookies.get(LOGIN_COOKIE))
    if (
        pending is None
        or not state
        or not hmac.compare_digest(state.encode(), pending.state.encode())
    ):
        raise HTTPException(403, "sign-in state does not match this browser; start again")
    if error or not code:
        raise HTTPException(403, f"GitHub did not sign you in ({error or 'no code'})")
    secret = ctx.settings.oauth_client_secret
    assert secret is not None and ctx.settings.oauth_client_id is not None
    try:
        token = exchange_code(
            ctx.settings.web_url(),
            ctx.settings.oauth_client_id,
            secret.get_secret_value(),
            code,
            callback_url(ctx.settings),
            timeout=ctx.settings.github_timeout_seconds,
        )
        user = signed_in_login(
            ctx.settings.github_api_url, token, timeout=ctx.settings.github_timeout_seconds
        )
    except OAuthRefused as refused:
        raise HTTPException(403, str(refused)) from refused
    except GitHubUnavailable as down:
        raise HTTPException(503, "cannot reach GitHub to finish sign-in; try again") from down
    teams = check_teams(request, ctx, user)
    if not teams:
        log.info("console.sign_in_refused", login=user)
        raise forbidden(user, ctx)
    session = new_session(user, teams, ctx.settings.console_session_hours, time.time())
    log.info("console.signed_in", login=user, teams=list(teams))
    response = RedirectResponse(pending.next_path, status_code=303)
    clear_cookie(response, request, LOGIN_COOKIE)
    set_cookie(
        response,
        request,
        SESSION_COOKIE,
        encode_session(ctx.signer, session),
        int(ctx.settings.console_session_hours * 3600),
    )
    return response


def current_session(request: Request, ctx: Context) -> Session:
    """The signed-in user (re-checked with GitHub when due); NotSignedIn or 403 otherwise."""
    session = decode_session(ctx.signer, request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotSignedIn()
    now = time.time()
    if now - session.checked_at >= ctx.settings.console_recheck_minutes * 60:
        teams = check_teams(request, ctx, session.login)
        if not teams:
            request.state.console_clear_session = True
            raise forbidden(session.login, ctx)
        session = session.rechecked(teams, now)
        request.state.console_session_cookie = (
            encode_session(ctx.signer, session),
            int(session.expires_at - now),
        )
    request.state.console_user = session.login
    request.state.console_csrf = csrf.token_for(ctx.signer, session)
    return session


SignedIn = Annotated[Session, Depends(current_session)]


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, ctx: Context, session: SignedIn) -> Response:
    csrf.check(await csrf.read_form(request), ctx.signer, session)
    response = RedirectResponse("/console/signed-out", status_code=303)
    clear_cookie(response, request, SESSION_COOKIE)
    return response


def login_redirect(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"/console/login?next={quote(path, safe='')}"
