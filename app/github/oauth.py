"""The GitHub App's OAuth user flow (web application flow) and the team check that follows it.

Used by the compliance console: send the browser to `/login/oauth/authorize`, exchange the code
at `/login/oauth/access_token` (GitHub answers 200 with an `error` field when it refuses), ask
`GET /user` who signed in, then ask with the *installation* token whether that user is an
`active` member of an allowed team (a user token could only show what the user may see).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import httpx

from app.core.errors import GitHubError, GitHubUnavailable
from app.github.client import GitHubApp


class OAuthRefused(GitHubError):
    """GitHub refused the code exchange or the user token (bad code, wrong secret, …)."""


def authorize_url(web_url: str, client_id: str, redirect_uri: str, state: str) -> str:
    """Where the browser goes to sign in with GitHub."""
    query = urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state})
    return f"{web_url.rstrip('/')}/login/oauth/authorize?{query}"


def _post(url: str, data: dict[str, str], timeout: float) -> dict[str, Any]:
    try:
        response = httpx.post(
            url, data=data, headers={"Accept": "application/json"}, timeout=timeout
        )
    except httpx.HTTPError as error:
        raise GitHubUnavailable(f"cannot reach GitHub at {url}: {error!r}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise GitHubUnavailable(f"GitHub answered {response.status_code} to POST {url}")
    try:
        body = response.json()
    except ValueError as error:
        raise OAuthRefused(f"GitHub answered {response.status_code} without JSON") from error
    if not isinstance(body, dict):
        raise OAuthRefused("GitHub's token answer is not a JSON object")
    return body


def exchange_code(
    web_url: str,
    client_id: str,
    client_secret: str,
    code: str,
    redirect_uri: str,
    *,
    timeout: float = 15.0,
) -> str:
    """The user access token for `code`; OAuthRefused names GitHub's error."""
    body = _post(
        f"{web_url.rstrip('/')}/login/oauth/access_token",
        {
            "client_id": client_id,
            "client_secret": client_secret,
            "code": code,
            "redirect_uri": redirect_uri,
        },
        timeout,
    )
    token = body.get("access_token")
    if not isinstance(token, str) or not token:
        raise OAuthRefused(
            f"GitHub refused the sign-in code: {body.get('error', 'no access_token')}"
            f" ({body.get('error_description', '')})"
        )
    return token


def signed_in_login(api_url: str, token: str, *, timeout: float = 15.0) -> str:
    """The login of the user a user access token acts for (`GET /user`)."""
    url = f"{api_url.rstrip('/')}/user"
    try:
        response = httpx.get(
            url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
            },
            timeout=timeout,
        )
    except httpx.HTTPError as error:
        raise GitHubUnavailable(f"cannot reach GitHub at {url}: {error!r}") from error
    if response.status_code >= 500 or response.status_code == 429:
        raise GitHubUnavailable(f"GitHub answered {response.status_code} to GET /user")
    if response.status_code != 200:
        raise OAuthRefused(f"GitHub answered {response.status_code} to GET /user")
    login = response.json().get("login")
    if not isinstance(login, str) or not login:
        raise OAuthRefused("GET /user answered without a login")
    return login


def active_teams(github: GitHubApp, login: str, teams: tuple[str, ...]) -> tuple[str, ...]:
    """Which of `teams` (`org/slug`) `login` is an active member of, asked per organization with
    that organization's installation token. An organization without the App installed, or a
    team it cannot see, grants nothing. GitHubUnavailable propagates (callers fail closed)."""
    granted: list[str] = []
    installations: dict[str, int | None] = {}
    for team in teams:
        org, slug = team.split("/", 1)
        if org not in installations:
            found = github.app_client().json("GET", f"/orgs/{org}/installation", ok_404=True)
            installations[org] = int(found["id"]) if isinstance(found, dict) else None
        installation = installations[org]
        if installation is None:
            continue
        membership = github.installation(installation).json(
            "GET", f"/orgs/{org}/teams/{slug}/memberships/{quote(login, safe='')}", ok_404=True
        )
        if isinstance(membership, dict) and membership.get("state") == "active":
            granted.append(team)
    return tuple(granted)
