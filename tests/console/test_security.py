"""The console's security properties, over HTTP against the real service and the simulator:
no audit data without a session, fail closed when unconfigured, OAuth state and single-use codes,
team membership (and its re-check), CSRF on every POST, cookie flags, CSP, rate-limited login,
and agent-written text rendered inert."""

from __future__ import annotations

import re
import time
from contextlib import closing
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.routing import APIRoute
from pydantic import SecretStr

from app.console import auth, exports, pages
from app.console.auth import RateLimiter
from app.console.session import SESSION_COOKIE, Session, Signer, encode_session
from app.demo.stack import LocalStack
from tests.console.harness import BYPASS_PR, XSS_FILE, XSS_PR, XSS_TITLE, ConsoleStack
from tests.stacks import session_key_pair

pytestmark = pytest.mark.e2e
PUBLIC = {"/console/login", "/console/callback", "/console/signed-out"}


def _console_routes() -> list[tuple[str, str]]:
    found = []
    for route in (*auth.router.routes, *pages.router.routes, *exports.router.routes):
        if isinstance(route, APIRoute):
            if route.path in PUBLIC:
                continue
            path = (
                route.path.replace("{owner}", "acme")
                .replace("{name}", "platform")
                .replace("{number}", str(BYPASS_PR))
                .replace("{fmt}", "json")
            )
            found += [(method, path) for method in sorted(route.methods or ())]
    return found


def test_every_console_route_refuses_without_a_session(console: ConsoleStack) -> None:
    routes = _console_routes()
    assert len(routes) >= 14, routes  # the pages, downloads and both POSTs are all listed
    with httpx.Client(base_url=console.url) as anonymous:
        for method, path in routes:
            page = anonymous.request(method, path, headers={"Accept": "text/html"})
            if method == "GET":
                assert page.status_code == 303, (method, path, page.status_code)
                assert page.headers["location"].startswith("/console/login?next=")
            else:
                assert page.status_code == 401, (method, path, page.status_code)
            data = anonymous.request(method, path, headers={"Accept": "application/json"})
            assert data.status_code == 401, (method, path, data.status_code)
            assert "acme/platform" not in data.text


def test_a_forged_or_tampered_session_cookie_is_refused(console: ConsoleStack) -> None:
    with closing(console.sign_in("erin")) as client:
        cookie = client.cookies.get(SESSION_COOKIE)
        assert cookie is not None
        body, mac = cookie.split(".")
        forged = Signer("x" * 32, "session").dumps({"login": "erin"})
        for value in (f"{body}.{mac[:-2]}AA", forged, "garbage"):
            client.cookies.clear()
            client.cookies.set(SESSION_COOKIE, value, domain="127.0.0.1", path="/console")
            assert client.get("/console/merges").status_code == 303


def test_sign_in_sets_a_strict_session_cookie_and_csp(console: ConsoleStack) -> None:
    console.stack.sim.oauth_sign_in("erin")
    with console.client() as client:
        start = client.get("/console/login")
        assert start.status_code == 302
        login_cookie = start.headers["set-cookie"]
        assert "HttpOnly" in login_cookie and "SameSite=lax" in login_cookie
        target = urlsplit(start.headers["location"])
        query = parse_qs(target.query)
        assert target.path == "/login/oauth/authorize"
        assert query["redirect_uri"] == [f"{console.url}/console/callback"]
        assert len(query["state"][0]) >= 32
        back = httpx.get(start.headers["location"])
        done = client.get(back.headers["location"])
        assert done.status_code == 303
        session_cookie = next(
            v for v in done.headers.get_list("set-cookie") if v.startswith(SESSION_COOKIE + "=")
        )
        assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
        assert "Secure" not in session_cookie  # plain HTTP on 127.0.0.1 only
        page = client.get("/console/merges")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["x-frame-options"] == "DENY"


def test_cookies_are_secure_off_localhost(console: ConsoleStack) -> None:
    with console.client() as client:
        start = client.get("/console/login", headers={"Host": "console.example.com"})
        assert start.status_code == 302
        assert "Secure" in start.headers["set-cookie"]


def test_oauth_state_must_match_the_browser(console: ConsoleStack) -> None:
    console.stack.sim.oauth_sign_in("erin")
    with console.client() as client:
        start = client.get("/console/login")
        back = httpx.get(start.headers["location"])
        code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
        wrong = client.get("/console/callback", params={"code": code, "state": "x" * 43})
        assert wrong.status_code == 403
        assert "state" in wrong.text
        odd = client.get("/console/callback", params={"code": code, "state": "é" * 43})
        assert odd.status_code == 403  # non-ASCII input is refused, never a crash
        assert SESSION_COOKIE not in client.cookies
    with console.client() as stranger:  # no pre-login cookie: someone else's callback URL
        stolen = stranger.get(back.headers["location"])
        assert stolen.status_code == 403


def test_a_code_works_once(console: ConsoleStack) -> None:
    console.stack.sim.oauth_sign_in("erin")
    with console.client() as client:
        start = client.get("/console/login")
        callback = httpx.get(start.headers["location"]).headers["location"]
        assert client.get(callback).status_code == 303
        client.cookies.delete(SESSION_COOKIE)
        again = client.get("/console/login")  # a fresh state, then replay the used code with it
        state = parse_qs(urlsplit(again.headers["location"]).query)["state"][0]
        code = parse_qs(urlsplit(callback).query)["code"][0]
        replay = client.get("/console/callback", params={"code": code, "state": state})
        assert replay.status_code == 403
        assert "bad_verification_code" in replay.text
        assert SESSION_COOKIE not in client.cookies


def test_users_outside_the_teams_get_403(console: ConsoleStack) -> None:
    console.stack.sim.oauth_sign_in("dave")
    with console.client() as client:
        page = client.get("/console/login", follow_redirects=True)
        assert page.status_code == 403
        assert "dave is not an active member" in page.text
        assert SESSION_COOKIE not in client.cookies
        assert client.get("/console/merges").status_code == 303


def test_a_pending_invitation_is_not_membership(console: ConsoleStack) -> None:
    """GitHub answers an unaccepted team invitation with `state: pending`: no way in."""
    sim = console.stack.sim
    sim.invite_to_team("acme", "compliance", "grace")
    sim.oauth_sign_in("grace")
    with console.client() as client:
        page = client.get("/console/login", follow_redirects=True)
        assert page.status_code == 403
        assert "grace is not an active member" in page.text
        assert SESSION_COOKIE not in client.cookies


def _aged_session(console: ConsoleStack, login: str) -> str:
    settings = console.stack.settings()
    assert settings.console_session_secret is not None
    signer = Signer(settings.console_session_secret.get_secret_value(), "session")
    now = time.time()
    old = Session(login, ("acme/compliance",), now - 7200, now - 3600, now + 3600, "n" * 32)
    return encode_session(signer, old)


def test_membership_is_rechecked_and_a_removed_member_is_locked_out(
    console: ConsoleStack,
) -> None:
    sim = console.stack.sim
    sim.add_user("frank")
    team = sim.world.team("acme", "compliance")
    assert team is not None
    with sim.lock:
        team.members["frank"] = "member"
    with console.client() as client:
        client.cookies.set(SESSION_COOKIE, _aged_session(console, "frank"), domain="127.0.0.1")
        ok = client.get("/console/agents")
        assert ok.status_code == 200
        assert any(v.startswith(SESSION_COOKIE) for v in ok.headers.get_list("set-cookie"))
        with sim.lock:
            del team.members["frank"]
        client.cookies.set(SESSION_COOKIE, _aged_session(console, "frank"), domain="127.0.0.1")
        refused = client.get("/console/agents")
        assert refused.status_code == 403
        cleared = [v for v in refused.headers.get_list("set-cookie") if SESSION_COOKIE in v]
        assert cleared and ("Max-Age=0" in cleared[0] or "expires=" in cleared[0].lower())


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', html)
    assert match is not None
    return match.group(1)


def test_every_post_needs_this_sessions_csrf_token(console: ConsoleStack) -> None:
    with closing(console.sign_in("erin")) as erin, closing(console.sign_in("carol")) as carol:
        _posts_refused(erin, carol)


def _posts_refused(erin: httpx.Client, carol: httpx.Client) -> None:
    theirs = _csrf(carol.get("/console/chain").text)
    ours = _csrf(erin.get("/console/chain").text)
    assert theirs != ours
    posts = [
        (f"/console/merges/acme/platform/{BYPASS_PR}/review", {"note": "checked"}),
        ("/console/chain/verify", {}),
        ("/console/logout", {}),
    ]
    for path, form in posts:
        for token in (None, "", "0" * 64, "é" * 64, theirs):
            data = dict(form) if token is None else {**form, "csrf_token": token}
            answer = erin.post(path, data=data)
            assert answer.status_code == 403, (path, token, answer.status_code)
    assert erin.get("/console/merges").status_code == 200  # still signed in: logout refused


def test_agent_written_titles_and_file_names_are_escaped(console: ConsoleStack) -> None:
    with closing(console.sign_in("erin")) as client:
        pages_html = [
            client.get(path).text
            for path in ("/console/merges", f"/console/merges/acme/platform/{XSS_PR}")
        ]
    for html in pages_html:
        assert "<script>window.__xss" not in html
        assert "<img src=x" not in html
        assert "&lt;script&gt;window.__xss=1;" in html
    evidence = pages_html[1]
    assert "docs/&lt;img src=x onerror=alert(3)&gt;.md" in evidence
    assert XSS_FILE not in evidence and XSS_TITLE not in evidence


def test_unconfigured_console_answers_503(tmp_path: object) -> None:
    with (
        LocalStack(f"sqlite:///{tmp_path}/c.db", key_pair=session_key_pair()) as stack,
        httpx.Client(base_url=stack.url) as c,
    ):
        for path in ("/console/login", "/console/merges", "/console/export/merges.csv"):
            answer = c.get(path)
            assert answer.status_code == 503, path
            assert "console not configured" in answer.text
            assert "COUNTERSIGN_CONSOLE_TEAMS" in answer.text


def test_sign_in_is_rate_limited_per_client(tmp_path: object) -> None:
    with (
        LocalStack(
            f"sqlite:///{tmp_path}/c.db",
            key_pair=session_key_pair(),
            console_teams="acme/compliance",
            console_session_secret=SecretStr("s" * 40),
            console_login_rate_per_minute=3,
        ) as stack,
        httpx.Client(base_url=stack.url) as client,
    ):
        answers = [client.get("/console/login").status_code for _ in range(4)]
        assert answers == [302, 302, 302, 429]
        limited = client.get("/console/callback", params={"code": "x", "state": "y"})
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 61


def test_rate_limiter_window_slides() -> None:
    limiter = RateLimiter(2)
    assert limiter.retry_after("a", now=0) == 0
    assert limiter.retry_after("a", now=1) == 0
    assert limiter.retry_after("a", now=2) == 59
    assert limiter.retry_after("b", now=2) == 0
    assert limiter.retry_after("a", now=60) == 0


def _sign_in_answers(stack: LocalStack, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=stack.url) as client:
        return [
            client.get("/console/login", headers={"X-Forwarded-For": ip}).status_code
            for ip in forwarded_for
        ]


def test_forwarded_for_is_ignored_unless_the_proxy_is_trusted(tmp_path: object) -> None:
    """By default no proxy is trusted: a made-up X-Forwarded-For per request does not reset the
    sign-in limit. Trusted (COUNTERSIGN_TRUSTED_PROXIES), the proxy's header names the client."""
    addresses = [f"203.0.113.{n}" for n in range(1, 6)]
    console = {
        "console_teams": "acme/compliance",
        "console_session_secret": SecretStr("s" * 40),
        "console_login_rate_per_minute": 3,
    }
    with LocalStack(f"sqlite:///{tmp_path}/a.db", key_pair=session_key_pair(), **console) as stack:  # type: ignore[arg-type]
        assert _sign_in_answers(stack, addresses) == [302, 302, 302, 429, 429]
    with LocalStack(
        f"sqlite:///{tmp_path}/b.db",
        key_pair=session_key_pair(),
        trusted_proxies="127.0.0.1",
        **console,  # type: ignore[arg-type]
    ) as stack:
        assert _sign_in_answers(stack, addresses) == [302] * 5
        assert _sign_in_answers(stack, ["198.51.100.7"] * 4) == [302, 302, 302, 429]
