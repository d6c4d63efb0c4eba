"""Route templates of the GitHub calls we make (`/repos/{owner}/{repo}/pulls/{pull_number}`).

A span names its call by template, not by path: one name per endpoint however many repositories
and PRs there are, as OpenTelemetry's `url.template` asks. The names are GitHub's own OpenAPI path
templates, so a trace reads like GitHub's REST reference.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

TEMPLATES: tuple[str, ...] = (
    "/repos/{owner}/{repo}/pulls",
    "/repos/{owner}/{repo}/pulls/{pull_number}",
    "/repos/{owner}/{repo}/pulls/{pull_number}/files",
    "/repos/{owner}/{repo}/pulls/{pull_number}/commits",
    "/repos/{owner}/{repo}/pulls/{pull_number}/reviews",
    "/repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers",
    "/repos/{owner}/{repo}/compare/{basehead}",
    "/repos/{owner}/{repo}/check-runs",
    "/repos/{owner}/{repo}/check-runs/{check_run_id}",
    "/repos/{owner}/{repo}/commits/{ref}/check-runs",
    "/repos/{owner}/{repo}/commits/{commit_sha}/pulls",
    "/repos/{owner}/{repo}/issues/{issue_number}/labels",
    "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
    "/repos/{owner}/{repo}/git/blobs/{file_sha}",
    "/repos/{owner}/{repo}/installation",
    "/repos/{owner}/{repo}/actions/runs/{run_id}/deployment_protection_rule",
    "/orgs/{org}/teams/{team_slug}/members",
    "/app/hook/deliveries",
    "/app/hook/deliveries/{delivery_id}/attempts",
    "/app/installations",
    "/installation/repositories",
    "/graphql",
)
UNKNOWN = "{unknown}"


def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for segment in template.strip("/").split("/"):
        parts.append("[^/]+" if segment.startswith("{") else re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


_COMPILED = tuple((_pattern(t), t) for t in TEMPLATES)


def route_template(url: str, api_path: str = "") -> str:
    """The template of a call's URL (a path relative to the API base, or an absolute URL such
    as GitHub Enterprise's GraphQL endpoint); `{unknown}` for a call not listed here."""
    path = urlsplit(url).path or "/"
    prefix = api_path.rstrip("/")
    if prefix and path.startswith(prefix + "/"):
        path = path[len(prefix) :]
    if path.endswith("/api/graphql"):  # GitHub Enterprise and the simulator
        path = "/graphql"
    path = "/" + path.strip("/")
    for pattern, template in _COMPILED:
        if pattern.match(path):
            return template
    return UNKNOWN
