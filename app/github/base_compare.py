"""What changed on a base branch since a commit: `GET /repos/{repo}/compare/{sha}...{branch}`.

Read for stale Terraform plans (`app.gate.plan_freshness`): the branch's tip now (the last commit
of the last page, oldest first) and the files changed since the plan's base (first page only,
GitHub lists at most 300). Anything we cannot read completely is an `error` on the move, never
an empty file list: a base rewritten under the plan (`behind`, `diverged`) or 300 files or more.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import GitHubError, GitHubUnavailable
from app.core.snapshot import BaseMove
from app.github.client import InstallationClient

MAX_COMPARE_FILES = 300


def base_move(client: InstallationClient, repo: str, since: str, branch: str) -> BaseMove:
    """The base branch `branch` now, against `since` (a plan's base). GitHub being unavailable
    raises (the delivery is retried); any other error is the move's `error`."""
    tip = since
    files: list[str] = []
    status = ""
    try:
        pages = client.pages(f"/repos/{repo}/compare/{since}...{branch}")
        for number, (data, _) in enumerate(pages):
            body: dict[str, Any] = data or {}
            status = str(body.get("status") or status)
            commits = body.get("commits") or []
            if commits:
                tip = str(commits[-1].get("sha") or tip)
            if number == 0:
                files = _paths(body.get("files") or [])
    except GitHubUnavailable:
        raise
    except GitHubError as error:  # a 404 (base gone), a permission: the plan cannot be trusted
        return BaseMove(from_sha=since, error=f"compare failed: {str(error)[:200]}")
    if status in ("behind", "diverged"):
        return BaseMove(from_sha=since, to_sha=tip, error=f"{branch} was rewritten ({status})")
    if len(files) >= MAX_COMPARE_FILES:
        return BaseMove(
            from_sha=since, to_sha=tip, error=f"{MAX_COMPARE_FILES} or more files changed"
        )
    return BaseMove(from_sha=since, to_sha=tip, files=tuple(files))


def _paths(entries: list[dict[str, Any]]) -> list[str]:
    """Every path a compare entry names (a rename names two)."""
    out: list[str] = []
    for entry in entries:
        for key in ("filename", "previous_filename"):
            value = entry.get(key)
            if isinstance(value, str) and value and value not in out:
                out.append(value)
    return out
