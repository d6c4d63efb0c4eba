"""GitHub App permissions as GitHub enforces them on installation tokens.

The App's permissions come from app.yml's `default_permissions` (what the manifest asks for), an
installation grants them, and each installation token carries a copy. A call whose endpoint needs a
permission the token lacks is answered like GitHub: 403 "Resource not accessible by integration".
The table below names the permission each endpoint the simulator serves requires, from GitHub's
"Permissions required for GitHub Apps" (REST) reference; App-JWT endpoints (`/app/...`) need none.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from ruamel.yaml import YAML

from app.config.settings import shipped_dir

Level = Literal["read", "write"]
NOT_ACCESSIBLE = "Resource not accessible by integration"

_REPO = r"/repos/[^/]+/[^/]+"
_TABLE: list[tuple[str, str, str, Level]] = [
    ("GET", _REPO, "metadata", "read"),
    ("GET", _REPO + r"/installation", "metadata", "read"),
    ("GET", _REPO + r"/pulls", "pull_requests", "read"),
    ("GET", _REPO + r"/pulls/\d+", "pull_requests", "read"),
    ("GET", _REPO + r"/pulls/\d+/(files|commits|reviews)", "pull_requests", "read"),
    ("POST", _REPO + r"/pulls/\d+/requested_reviewers", "pull_requests", "write"),
    ("PUT", _REPO + r"/pulls/\d+/merge", "contents", "write"),
    ("GET", _REPO + r"/contents(/.*)?", "contents", "read"),
    ("GET", _REPO + r"/git/blobs/[^/]+", "contents", "read"),
    ("GET", _REPO + r"/compare/[^/]+", "contents", "read"),
    ("POST", _REPO + r"/check-runs", "checks", "write"),
    ("PATCH", _REPO + r"/check-runs/\d+", "checks", "write"),
    ("GET", _REPO + r"/check-runs/\d+(/annotations)?", "checks", "read"),
    ("GET", _REPO + r"/commits/[^/]+/check-runs", "checks", "read"),
    # Labels live behind the issues API; adding one that does not exist yet creates it.
    ("POST", _REPO + r"/issues/\d+/labels", "issues", "write"),
    ("DELETE", _REPO + r"/issues/\d+/labels/[^/]+", "issues", "write"),
    # A PR's conversation: comments and issue events (who added a label).
    ("GET", _REPO + r"/issues/\d+/(comments|events)", "issues", "read"),
    ("POST", _REPO + r"/issues/\d+/comments", "issues", "write"),
    ("POST", _REPO + r"/actions/runs/\d+/deployment_protection_rule", "deployments", "write"),
    ("GET", _REPO + r"/commits/[^/]+/pulls", "pull_requests", "read"),
    ("GET", r"/orgs/[^/]+/teams/[^/]+/(members|memberships/[^/]+)", "members", "read"),
]
_RULES = [(m, re.compile(f"^{p}$"), perm, level) for m, p, perm, level in _TABLE]
GRAPHQL_CONTENTS: tuple[str, Level] = ("contents", "read")
"""What `repository { object(expression:) }` needs: reading files is reading contents."""


def required(method: str, path: str) -> tuple[str, Level] | None:
    """The permission an installation token needs for `method path` (API-relative path)."""
    for rule_method, pattern, permission, level in _RULES:
        if rule_method == method.upper() and pattern.match(path):
            return permission, level
    return None


def grants(permissions: dict[str, str], permission: str, level: Level) -> bool:
    """True when `permissions` include `permission` at `level` (write implies read)."""
    granted = permissions.get(permission)
    return granted == "write" or (level == "read" and granted == "read")


def token_grants(
    token: dict[str, str] | None, installation: dict[str, str], permission: str, level: Level
) -> bool:
    """A token may do what it was issued for, and never more than its installation grants now."""
    return grants(installation, permission, level) and (
        token is None or grants(token, permission, level)
    )


@lru_cache(maxsize=4)
def manifest_permissions(path: Path | None = None) -> dict[str, str]:
    """`default_permissions` of app.yml: what installing the App grants."""
    source = path or shipped_dir("app.yml")
    data = YAML(typ="safe").load(source.read_text(encoding="utf-8")) or {}
    perms = data.get("default_permissions") or {}
    if not isinstance(perms, dict):
        raise ValueError(f"{source}: default_permissions must be a mapping")
    return {str(k): str(v) for k, v in perms.items()}


ALWAYS_DELIVERED = frozenset({"installation", "installation_repositories", "ping"})
"""Events GitHub sends every App whether or not it subscribed to them."""


@lru_cache(maxsize=4)
def manifest_events(path: Path | None = None) -> tuple[str, ...]:
    """`default_events` of app.yml: the webhooks the App subscribes to (GitHub sends no others)."""
    source = path or shipped_dir("app.yml")
    data = YAML(typ="safe").load(source.read_text(encoding="utf-8")) or {}
    events = data.get("default_events") or []
    if not isinstance(events, list):
        raise ValueError(f"{source}: default_events must be a list")
    return tuple(str(e) for e in events)
