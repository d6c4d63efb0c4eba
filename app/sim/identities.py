"""Git identities and GitHub's account linking, as the commits API shows them.

A simulator commit's author/committer is either a login (a GitHub account; its git identity is
the account's e-mail or no-reply address) or a raw `Name <e-mail>` (what `git commit` wrote).
GitHub links a raw identity to an account only when the e-mail is one of the account's e-mails
or its no-reply address `ID+login@users.noreply.<host>` with the right ID; otherwise the commits
API answers `author: null` / `committer: null` and only `commit.author.{name,email}` remain.
"""

from __future__ import annotations

import re
from typing import Any

from app.sim.shapes import known_user, user
from app.sim.state import World

_RAW = re.compile(r"^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$")
_NOREPLY = re.compile(r"^(\d+)\+([A-Za-z0-9][A-Za-z0-9-]*(?:\[bot\])?)@users\.noreply\.", re.I)
NOREPLY_HOST = "users.noreply.github.com"


def raw_identity(who: str) -> tuple[str, str] | None:
    """(name, e-mail) when `who` is a raw `Name <e-mail>`, None when it is a login."""
    match = _RAW.match(who.strip())
    return (match.group(1).strip(), match.group(2).strip()) if match else None


def noreply_email(world: World, login: str) -> str:
    u = known_user(world, login)
    return f"{u.id}+{u.login}@{NOREPLY_HOST}"


def linked_login(world: World, email: str) -> str | None:
    """The account GitHub links this commit e-mail to, or None (→ `author: null`)."""
    lower = email.strip().lower()
    for u in world.users.values():
        if u.email and u.email.lower() == lower:
            return u.login
    match = _NOREPLY.match(lower)
    if match:
        account_ = world.user(match.group(2))
        if account_ is not None and str(account_.id) == match.group(1):
            return account_.login
    return None


def git_identity(world: World, who: str, date: str) -> dict[str, Any]:
    """GitUser (`commit.author` / `commit.committer`): always present, linked or not."""
    raw = raw_identity(who)
    if raw is not None:
        return {"name": raw[0], "email": raw[1], "date": date}
    u = known_user(world, who)
    return {"name": u.name or u.login, "email": u.email or noreply_email(world, who), "date": date}


def account(world: World, who: str) -> dict[str, Any] | None:
    """SimpleUser of the linked account, or None when the e-mail is linked to no account."""
    raw = raw_identity(who)
    if raw is None:
        return user(world, who)
    login = linked_login(world, raw[1])
    return user(world, login) if login else None
