"""GITHUB_TOKEN permissions of a workflow or job, and how a change moves them.

A `permissions:` block is compared with the explicit value it replaces at the same level (the
job's own, else the workflow's). With no block at all the token gets the repository's default,
which a pull request cannot see: read-only for new organisations, read/write for older ones.
So adding a read-only block where there was none narrows the token (never "broadening");
dropping a block falls back to that unknown default, which a reviewer must judge; a scope going
none→read→write, or `write-all`, broadens it; `permissions_broadened` (the high rule's fact)
counts only new write power.
"""

from __future__ import annotations

from typing import Any, Literal

__all__ = [
    "DEFAULT",
    "Permissions",
    "PermissionsChange",
    "effective",
    "level",
    "normalize",
    "permissions_broadened",
    "permissions_change",
    "write_scopes_added",
]

DEFAULT = "default"  # no `permissions` key: the repository's default token permissions
RANK = {"none": 0, "read": 1, "write": 2}
# Scopes of the GITHUB_TOKEN; `read-all` / `write-all` set every one of them.
SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token",
    "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
    "security-events", "statuses",
)  # fmt: skip

Permissions = str | dict[str, str]
# "broadened": a scope can do more; "narrowed": none can and some can do less; "default": an
# explicit block was dropped for the repository default (unknown); "unchanged".
PermissionsChange = Literal["broadened", "narrowed", "default", "unchanged"]


def normalize(value: Any) -> Permissions:
    if value is None:
        return DEFAULT
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    return str(value)


def effective(own: Any, inherited: Permissions | None) -> Permissions:
    """A job's permissions: its own block, else the workflow's, else the repository default."""
    if own is not None:
        return normalize(own)
    return inherited or DEFAULT


def level(perms: Permissions, scope: str) -> int:
    """0 none, 1 read, 2 write for one scope; an unknown level is assumed the worst. The
    repository default counts as none here: callers decide what an unknown default means."""
    if perms == "write-all":
        return 2
    if perms == "read-all":
        return 1
    if isinstance(perms, dict):
        return RANK.get(perms.get(scope, "none"), 2)
    if perms == DEFAULT:
        return 0
    return 2


def _scopes(*sides: Permissions) -> set[str]:
    scopes = set(SCOPES)
    for side in sides:
        if isinstance(side, dict):
            scopes |= set(side)
    return scopes


def permissions_change(before: Permissions | None, after: Permissions | None) -> PermissionsChange:
    """How the token moves from `before` to `after` (None: the workflow or job does not exist
    on that side; a new one is compared with the default)."""
    if after is None:
        return "unchanged"
    before = DEFAULT if before is None else before
    if after == before:
        return "unchanged"
    if after == "write-all":
        return "broadened"
    if after == DEFAULT:
        return "narrowed" if before == "write-all" else "default"
    scopes = _scopes(before, after)
    if before == DEFAULT:
        # Relative to an unknown default only a write scope can be new power.
        return "broadened" if any(level(after, s) == 2 for s in scopes) else "narrowed"
    if any(level(after, s) > level(before, s) for s in scopes):
        return "broadened"
    return "narrowed" if any(level(after, s) < level(before, s) for s in scopes) else "unchanged"


def permissions_broadened(before: Permissions | None, after: Permissions | None) -> bool:
    """True when the token can change more after: a scope becomes `write` (or the whole token
    `write-all`) where it could not write before. A scope rising none→read is a broadening in
    `permissions_change`, but reading changes nothing, so it is not this (#24)."""
    if permissions_change(before, after) != "broadened" or after is None:
        return False
    before = DEFAULT if before is None else before
    return any(level(after, s) == 2 and level(before, s) < 2 for s in _scopes(before, after)) or (
        after == "write-all" and before != "write-all"
    )


def write_scopes_added(before: Permissions | None, after: Permissions | None) -> list[str]:
    """The scopes that can write after and could not before (every scope for `write-all`), so a
    rule can tell write to the issue tracker (`issues`, `discussions`: a triage bot closing
    blank issues) from write to code, releases or reviews."""
    if after is None:
        return []
    before = DEFAULT if before is None else before
    return sorted(
        s for s in _scopes(before, after) if level(after, s) == 2 and level(before, s) < 2
    )
