"""GitHub App access through githubkit: JWT → installation token → the REST/GraphQL calls we make.

Every call goes through `InstallationClient.call`, which records `METHOD /path > status` (so an
evaluation can report and count its API calls), makes one client span per call (method, route
template, status; see app/runtime/telemetry.py) and maps failures onto our error tree:
rate limits, 5xx and network errors become GitHubUnavailable (retry later, honouring Retry-After /
X-RateLimit-Reset); other 4xx become GitHubError. GraphQL rate limits arrive as HTTP 200 with
`errors[].type == "RATE_LIMITED"` and are mapped the same way. Lists follow GitHub's `Link: next`
header (page or cursor based alike). Responses are read with `.json()` and our own lenient access,
never githubkit's strict models (docs/adr/0007-lenient-github-reads.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestError, RequestFailed, RequestTimeout
from opentelemetry.trace import Span, SpanKind

from app.core.errors import GitHubError, GitHubPermissionDenied, GitHubUnavailable
from app.github.contents import Blob, ContentsReader, TreeEntry
from app.github.routes import route_template
from app.runtime import telemetry

MAX_PR_FILES = 3000
MAX_LISTED_PR_COMMITS = 250
"""GitHub lists at most 250 commits of a PR (`GET /pulls/{n}/commits`); the rest come from compare."""
TEAM_CACHE_SECONDS = 300.0
DEFAULT_MAX_BLOB_BYTES = 10 * 1024 * 1024
GRAPHQL_RATE_LIMIT_FALLBACK_SECONDS = 60.0
NOT_ACCESSIBLE = "Resource not accessible by integration"

__all__ = ["Blob", "CallLog", "GitHubApp", "InstallationClient", "TreeEntry"]


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait from `Retry-After` or, for primary rate limits, `X-RateLimit-Reset`."""
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        try:
            return max(0.0, float(headers["x-ratelimit-reset"]) - (now or time.time()))
        except ValueError:
            return None
    return None


@dataclass
class CallLog:
    """The API calls made for one unit of work (an evaluation), in order."""

    calls: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.calls)


class GitHubApp:
    """One App identity; hands out per-installation clients that share a token cache."""

    def __init__(
        self,
        app_id: int,
        private_key: str,
        *,
        base_url: str = "https://api.github.com",
        transport: httpx.BaseTransport | None = None,
        timeout: float = 15.0,
        max_blob_bytes: int = DEFAULT_MAX_BLOB_BYTES,
    ) -> None:
        self.app_id = app_id
        self.max_blob_bytes = max_blob_bytes
        self._auth = AppAuthStrategy(app_id, private_key)
        self._cache = MemCacheStrategy()
        self.base_url = base_url.rstrip("/") + "/"
        self._transport = transport
        self._timeout = timeout
        self._team_cache: dict[tuple[int, str], tuple[float, tuple[str, ...]]] = {}

    def _client(self, auth: Any) -> GitHub[Any]:
        return GitHub(
            auth,
            base_url=self.base_url,
            http_cache=False,
            auto_retry=False,
            cache_strategy=self._cache,
            timeout=self._timeout,
            transport=self._transport,
        )

    def app_client(self, log: CallLog | None = None) -> InstallationClient:
        """A client authenticated as the App itself (JWT): hook deliveries, installations."""
        return InstallationClient(
            self, self._client(self._auth), log if log is not None else CallLog(), 0
        )

    def installation(self, installation_id: int, log: CallLog | None = None) -> InstallationClient:
        return InstallationClient(
            self,
            self._client(self._auth.as_installation(installation_id)),
            log if log is not None else CallLog(),
            installation_id,
        )


class InstallationClient:
    """The calls Countersign makes, each logged and error-mapped."""

    def __init__(self, app: GitHubApp, gh: GitHub[Any], log: CallLog, installation_id: int) -> None:
        self.app = app
        self.gh = gh
        self.log = log
        self.installation_id = installation_id
        parts = urlsplit(app.base_url)
        # GitHub Enterprise (and the simulator) serve GraphQL at /api/graphql beside /api/v3.
        if parts.path.rstrip("/").endswith("/api/v3"):
            api_root = parts.path.rstrip("/").removesuffix("/v3")
            self.graphql_url = f"{parts.scheme}://{parts.netloc}{api_root}/graphql"
        else:
            self.graphql_url = "/graphql"

    def call(
        self,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        ok_404: bool = False,
    ) -> httpx.Response | None:
        """One request; None for a tolerated 404. Raises GitHubUnavailable / GitHubError."""
        parts = urlsplit(self.app.base_url)
        template = route_template(url, parts.path)
        attrs = {
            telemetry.HTTP_METHOD: method,
            telemetry.URL_TEMPLATE: template,
            telemetry.SERVER_ADDRESS: parts.hostname or "",
        }
        with telemetry.span(f"{method} {template}", kind=SpanKind.CLIENT, attrs=attrs) as span:
            return self._send(span, method, url, params=params, json=json, ok_404=ok_404)

    def _send(
        self,
        span: Span,
        method: str,
        url: str,
        *,
        params: dict[str, Any] | None,
        json: Any,
        ok_404: bool,
    ) -> httpx.Response | None:
        try:
            response = self.gh.request(method, url, params=params, json=json)
            self.log.calls.append(f"{method} {url} > {response.status_code}")
            span.set_attribute(telemetry.HTTP_STATUS, response.status_code)
            return response.raw_response
        except RequestFailed as exc:
            raw = exc.response.raw_response
            self.log.calls.append(f"{method} {url} > {raw.status_code}")
            span.set_attribute(telemetry.HTTP_STATUS, raw.status_code)
            if raw.status_code == 404 and ok_404:
                return None  # expected (a label already gone): not an error of this span
            headers = {k.lower(): v for k, v in raw.headers.items()}
            limited = raw.status_code == 429 or (
                raw.status_code == 403
                and ("retry-after" in headers or headers.get("x-ratelimit-remaining") == "0")
            )
            if limited or raw.status_code >= 500:
                raise GitHubUnavailable(
                    f"GitHub answered {raw.status_code} to {method} {url}",
                    retry_after=retry_after_seconds(headers),
                ) from exc
            message = _message(raw)
            if raw.status_code == 403 and NOT_ACCESSIBLE in message:
                raise GitHubPermissionDenied(
                    f"GitHub answered 403 to {method} {url}: {message}",
                    hint="the App lacks a permission this call needs: compare the installation's "
                    "permissions with app.yml and accept the App's updated permissions",
                ) from exc
            raise GitHubError(
                f"GitHub answered {raw.status_code} to {method} {url}: {message}"
            ) from exc
        except (RequestTimeout, RequestError, httpx.HTTPError) as exc:
            self.log.calls.append(f"{method} {url} > error")
            raise GitHubUnavailable(f"cannot reach GitHub for {method} {url}: {exc!r}") from exc

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self.call(method, url, **kwargs)
        return None if response is None else response.json()

    # --- pull requests -------------------------------------------------------------------
    def pull(self, repo: str, number: int) -> dict[str, Any]:
        return dict(self.json("GET", f"/repos/{repo}/pulls/{number}"))

    def pages(
        self, url: str, *, params: dict[str, Any] | None = None
    ) -> Iterator[tuple[Any, httpx.Response]]:
        """Every page of a list endpoint (100 per page), following `Link: rel="next"`."""
        query: dict[str, Any] = {"per_page": 100, **(params or {})}
        next_url: str | None = url
        while next_url is not None:
            response = self.call("GET", next_url, params=query)
            assert response is not None
            yield response.json(), response
            next_url, query = self._next_page(response)

    def _next_page(self, response: httpx.Response) -> tuple[str | None, dict[str, Any]]:
        """The next page's path (relative to the API base, as we log calls) and query."""
        link = response.links.get("next", {}).get("url")
        if not link:
            return None, {}
        parts = urlsplit(link)
        base_path = urlsplit(self.app.base_url).path.rstrip("/")
        path = parts.path
        if base_path and path.startswith(base_path + "/"):
            path = path[len(base_path) :]
        return path, dict(parse_qsl(parts.query))

    def paginate(
        self,
        url: str,
        *,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> list[dict[str, Any]]:
        """Every item of a list endpoint, up to `limit`; `key` names the list inside an envelope
        (`{"total_count": …, "repositories": […]}`)."""
        items: list[dict[str, Any]] = []
        for data, _ in self.pages(url, params=params):
            batch = (data or {}).get(key) if key else data
            items.extend(batch or [])
            if limit is not None and len(items) >= limit:
                return items[:limit]
        return items

    def pull_files(self, repo: str, number: int) -> list[dict[str, Any]]:
        """All files of a PR. GitHub lists at most 3,000: beyond that we fail closed."""
        return self.paginate(f"/repos/{repo}/pulls/{number}/files", limit=MAX_PR_FILES)

    def pull_commits(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The PR's commits (GitHub lists at most 250 here: see `compare_commits`)."""
        return self.paginate(f"/repos/{repo}/pulls/{number}/commits", limit=MAX_LISTED_PR_COMMITS)

    def compare_commits(self, repo: str, base: str, head: str) -> tuple[list[dict[str, Any]], int]:
        """All commits of `base...head` (paginated compare) and the total GitHub says it has."""
        commits: list[dict[str, Any]] = []
        total = 0
        for data, _ in self.pages(f"/repos/{repo}/compare/{base}...{head}"):
            total = int((data or {}).get("total_commits") or 0)
            commits.extend((data or {}).get("commits") or [])
        return commits, total

    def pull_reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/pulls/{number}/reviews")

    def open_pulls(self, repo: str, base: str | None = None) -> list[dict[str, Any]]:
        """The open PRs, or only those that target the branch `base`."""
        params = {"state": "open", **({"base": base} if base is not None else {})}
        return self.paginate(f"/repos/{repo}/pulls", params=params)

    def request_reviewers(self, repo: str, number: int, users: list[str], teams: list[str]) -> None:
        self.call(
            "POST",
            f"/repos/{repo}/pulls/{number}/requested_reviewers",
            json={"reviewers": users, "team_reviewers": teams},
        )

    # --- contents ------------------------------------------------------------------------
    def graphql(self, query: str) -> dict[str, Any]:
        """One GraphQL query; a rate limit (HTTP 200, `RATE_LIMITED`) raises GitHubUnavailable
        with the wait until `X-RateLimit-Reset`, like a REST rate limit."""
        response = self.call("POST", self.graphql_url, json={"query": query})
        assert response is not None
        data = response.json()
        if not isinstance(data, dict):
            raise GitHubError(f"GraphQL answered a non-object: {str(data)[:200]}")
        errors = data.get("errors") or []
        if any(isinstance(e, dict) and e.get("type") == "RATE_LIMITED" for e in errors):
            headers = {k.lower(): v for k, v in response.headers.items()}
            wait = retry_after_seconds(headers)
            raise GitHubUnavailable(
                f"GitHub's GraphQL rate limit is exhausted: {str(errors[0].get('message'))[:200]}",
                retry_after=wait if wait is not None else GRAPHQL_RATE_LIMIT_FALLBACK_SECONDS,
            )
        if any(isinstance(e, dict) and e.get("type") == "FORBIDDEN" for e in errors):
            raise GitHubPermissionDenied(
                f"GraphQL: {str(errors[0].get('message'))[:200]}",
                hint="the App needs `contents: read` to read files (see app.yml)",
            )
        return data

    def contents(
        self, repo: str, blobs: list[tuple[str, str]], trees: list[tuple[str, str]] | None = None
    ) -> tuple[dict[tuple[str, str], Blob], dict[tuple[str, str], list[TreeEntry]]]:
        """(sha, path) blobs and (sha, dir) listings in one GraphQL query per 200 objects;
        truncated texts are read in full over REST up to the App's blob cap."""
        return ContentsReader(self, repo, self.app.max_blob_bytes).read(blobs, trees)

    def blobs(self, repo: str, specs: list[tuple[str, str]]) -> dict[tuple[str, str], Blob]:
        """Contents of many (commit sha, path) pairs."""
        return self.contents(repo, specs)[0]

    # --- checks --------------------------------------------------------------------------
    def create_check_run(self, repo: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.json("POST", f"/repos/{repo}/check-runs", json=body))

    def update_check_run(
        self, repo: str, check_run_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(self.json("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", json=body))

    def check_runs_for(self, repo: str, sha: str, name: str) -> list[dict[str, Any]]:
        """This App's runs called `name` on `sha`, newest first: never another App's run or an
        Actions job that happens to share the name (filtered by `app_id` here and by GitHub)."""
        runs = self.paginate(
            f"/repos/{repo}/commits/{sha}/check-runs",
            params={"check_name": name, "app_id": self.app.app_id},
            key="check_runs",
        )
        ours = [r for r in runs if (r.get("app") or {}).get("id") == self.app.app_id]
        return sorted(ours, key=lambda r: -int(r.get("id") or 0))

    # --- labels, teams -------------------------------------------------------------------
    def add_labels(self, repo: str, number: int, labels: list[str]) -> None:
        self.call("POST", f"/repos/{repo}/issues/{number}/labels", json={"labels": labels})

    def remove_label(self, repo: str, number: int, label: str) -> None:
        # A label name is one path segment: GitHub needs `/`, `#`, `?` and spaces %-encoded.
        name = quote(label, safe="")
        self.call("DELETE", f"/repos/{repo}/issues/{number}/labels/{name}", ok_404=True)

    def create_comment(self, repo: str, number: int, body: str) -> None:
        """Comment on the PR's conversation as the App (answers to `/countersign` commands)."""
        self.call("POST", f"/repos/{repo}/issues/{number}/comments", json={"body": body})

    def team_members(self, team: str) -> tuple[str, ...]:
        """Members of `org/team` (cached for 5 minutes per installation)."""
        key = (self.installation_id, team.lower())
        cached = self.app._team_cache.get(key)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        org, slug = team.lower().split("/", 1)
        try:
            members = [m["login"] for m in self.paginate(f"/orgs/{org}/teams/{slug}/members")]
        except GitHubError as error:
            if "404" not in str(error):
                raise
            members = []  # an unknown team has no members: its approvals cannot count
        result = tuple(sorted(members))
        self.app._team_cache[key] = (time.monotonic() + TEAM_CACHE_SECONDS, result)
        return result

    # --- app-level (JWT) -----------------------------------------------------------------
    def hook_deliveries(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """The App's webhook deliveries, newest first (cursor pages), back to `since`."""
        items: list[dict[str, Any]] = []
        for data, _ in self.pages("/app/hook/deliveries"):
            batch = list(data or [])
            if since is not None:
                kept = [d for d in batch if _parse_time(d.get("delivered_at")) >= since]
                items.extend(kept)
                if len(kept) < len(batch):
                    break
            else:
                items.extend(batch)
        return items

    def redeliver(self, delivery_id: int) -> None:
        self.call("POST", f"/app/hook/deliveries/{delivery_id}/attempts")

    def installations(self) -> list[dict[str, Any]]:
        return self.paginate("/app/installations")

    def installation_repositories(self) -> list[dict[str, Any]]:
        """Repositories this installation can access (an installation token call)."""
        return self.paginate("/installation/repositories", key="repositories")


def _parse_time(value: Any) -> datetime:
    if not isinstance(value, str) or not value:
        return datetime.max.replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return response.text[:200]
