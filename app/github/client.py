"""GitHub App access through githubkit: JWT → installation token → the REST/GraphQL calls we make.

Every call goes through `InstallationClient.call`, which records `METHOD /path > status` (so an
evaluation can report and count its API calls) and maps failures onto our error tree:
rate limits, 5xx and network errors become GitHubUnavailable (retry later, honouring Retry-After /
X-RateLimit-Reset); other 4xx become GitHubError. Responses are read with `.json()` and our own
lenient access, never githubkit's strict models (STACK-NOTES.md).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy
from githubkit.exception import RequestError, RequestFailed, RequestTimeout

from app.errors import GitHubError, GitHubUnavailable

MAX_PR_FILES = 3000
TEAM_CACHE_SECONDS = 300.0


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
    ) -> None:
        self.app_id = app_id
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
        try:
            response = self.gh.request(method, url, params=params, json=json)
            self.log.calls.append(f"{method} {url} > {response.status_code}")
            return response.raw_response
        except RequestFailed as exc:
            raw = exc.response.raw_response
            self.log.calls.append(f"{method} {url} > {raw.status_code}")
            if raw.status_code == 404 and ok_404:
                return None
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
            raise GitHubError(
                f"GitHub answered {raw.status_code} to {method} {url}: {_message(raw)}"
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

    def paginate(self, url: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """Every item of a list endpoint, 100 per page, up to `limit` items."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.json("GET", url, params={"per_page": 100, "page": page}) or []
            items.extend(batch)
            if len(batch) < 100 or (limit is not None and len(items) >= limit):
                return items if limit is None else items[:limit]
            page += 1

    def pull_files(self, repo: str, number: int) -> list[dict[str, Any]]:
        """All files of a PR. GitHub lists at most 3,000: beyond that we fail closed."""
        return self.paginate(f"/repos/{repo}/pulls/{number}/files", limit=MAX_PR_FILES)

    def pull_commits(self, repo: str, number: int) -> list[dict[str, Any]]:
        """The PR's commits (GitHub lists at most 250 here)."""
        return self.paginate(f"/repos/{repo}/pulls/{number}/commits", limit=250)

    def pull_reviews(self, repo: str, number: int) -> list[dict[str, Any]]:
        return self.paginate(f"/repos/{repo}/pulls/{number}/reviews")

    def open_pulls(self, repo: str) -> list[dict[str, Any]]:
        return list(
            self.json("GET", f"/repos/{repo}/pulls", params={"state": "open", "per_page": 100})
        )

    def request_reviewers(self, repo: str, number: int, users: list[str], teams: list[str]) -> None:
        self.call(
            "POST",
            f"/repos/{repo}/pulls/{number}/requested_reviewers",
            json={"reviewers": users, "team_reviewers": teams},
        )

    # --- contents ------------------------------------------------------------------------
    def blobs(self, repo: str, specs: list[tuple[str, str]]) -> dict[tuple[str, str], Blob]:
        """Contents of many (commit sha, path) pairs with one GraphQL query per 200 specs."""
        owner, name = repo.split("/", 1)
        out: dict[tuple[str, str], Blob] = {}
        for start in range(0, len(specs), 200):
            chunk = specs[start : start + 200]
            fields = " ".join(
                f"f{i}: object(expression: {_gql_string(f'{sha}:{path}')}) "
                "{ ... on Blob { text isBinary byteSize oid } }"
                for i, (sha, path) in enumerate(chunk)
            )
            query = f"query {{ repository(owner: {_gql_string(owner)}, name: {_gql_string(name)}) {{ {fields} }} }}"
            data = self.json("POST", self.graphql_url, json={"query": query})
            if not isinstance(data, dict) or data.get("errors"):
                raise GitHubError(f"GraphQL contents query failed: {str(data)[:300]}")
            objects = (data.get("data") or {}).get("repository") or {}
            for i, spec in enumerate(chunk):
                obj = objects.get(f"f{i}")
                if obj is None:
                    out[spec] = Blob(exists=False)
                elif obj.get("isBinary"):
                    out[spec] = Blob(exists=True, binary=True, size=obj.get("byteSize") or 0)
                elif obj.get("text") is None:
                    out[spec] = Blob(exists=True, truncated=True, size=obj.get("byteSize") or 0)
                else:
                    out[spec] = Blob(exists=True, data=obj["text"].encode("utf-8"))
        return out

    # --- checks --------------------------------------------------------------------------
    def create_check_run(self, repo: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.json("POST", f"/repos/{repo}/check-runs", json=body))

    def update_check_run(
        self, repo: str, check_run_id: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(self.json("PATCH", f"/repos/{repo}/check-runs/{check_run_id}", json=body))

    def check_runs_for(self, repo: str, sha: str, name: str) -> list[dict[str, Any]]:
        data = self.json(
            "GET", f"/repos/{repo}/commits/{sha}/check-runs", params={"check_name": name}
        )
        return list((data or {}).get("check_runs", []))

    # --- labels, teams -------------------------------------------------------------------
    def add_labels(self, repo: str, number: int, labels: list[str]) -> None:
        self.call("POST", f"/repos/{repo}/issues/{number}/labels", json={"labels": labels})

    def remove_label(self, repo: str, number: int, label: str) -> None:
        # A label name is one path segment: GitHub needs `/`, `#`, `?` and spaces %-encoded.
        name = quote(label, safe="")
        self.call("DELETE", f"/repos/{repo}/issues/{number}/labels/{name}", ok_404=True)

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
    def hook_deliveries(self, per_page: int = 100) -> list[dict[str, Any]]:
        return list(self.json("GET", "/app/hook/deliveries", params={"per_page": per_page}))

    def redeliver(self, delivery_id: int) -> None:
        self.call("POST", f"/app/hook/deliveries/{delivery_id}/attempts")

    def installations(self) -> list[dict[str, Any]]:
        return list(self.json("GET", "/app/installations", params={"per_page": 100}))


@dataclass(frozen=True)
class Blob:
    """One file side as GraphQL returned it."""

    exists: bool
    data: bytes | None = None
    binary: bool = False
    truncated: bool = False
    size: int = 0


def _gql_string(value: str) -> str:
    import json as _json

    return _json.dumps(value)


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message", ""))[:200]
    except ValueError:
        return response.text[:200]
