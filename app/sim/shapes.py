"""REST object shapes: full JSON objects, as GitHub serves them, built from the simulator's records.

githubkit's response models are strict (docs/adr/0007-lenient-github-reads.md), so every builder fills every required
field with a plausible value; the contract test validates each one against githubkit's models.
The same builders feed webhook payloads, so an API answer and a webhook agree field for field.
This module holds accounts, repositories and the App; `shapes_pull.py` pull requests and checks.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from app.sim.state import (
    Installation,
    Label,
    Repo,
    Team,
    User,
    World,
    iso,
)

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_kgDO{base64.b64encode(str(number).encode()).decode().rstrip('=')}"


def known_user(world: World, login: str) -> User:
    """The user record, or a stable stand-in for a login the scenario never declared."""
    found = world.user(login)
    if found is not None:
        return found
    number = int(hashlib.sha1(login.encode(), usedforsecurity=False).hexdigest()[:7], 16)
    return User(login=login, id=number, type="Bot" if login.endswith("[bot]") else "User")


def user(world: World, login: str) -> dict[str, Any]:
    """SimpleUser."""
    u = known_user(world, login)
    # GitHub %-encodes logins in URLs (`dependabot%5Bbot%5D`) and links an App's bot to the App.
    api = f"{world.api_url}/users/{quote(u.login, safe='')}"
    app_bot = u.type == "Bot" and u.login.endswith("[bot]")
    html = f"{world.web_url}/apps/{u.login.removesuffix('[bot]')}" if app_bot else None
    return {
        "login": u.login,
        "id": u.id,
        "node_id": node_id("U" if u.type != "Bot" else "BOT", u.id),
        "avatar_url": f"{world.web_url}/avatars/u/{u.id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": html or f"{world.web_url}/{quote(u.login, safe='')}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": u.type,
        "user_view_type": "public",
        "site_admin": u.site_admin,
    }


def organization(world: World, login: str) -> dict[str, Any]:
    """OrganizationSimple (the `organization` of webhook payloads)."""
    u = known_user(world, login)
    api = f"{world.api_url}/orgs/{u.login}"
    return {
        "login": u.login,
        "id": u.id,
        "node_id": node_id("O", u.id),
        "url": api,
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events",
        "hooks_url": f"{api}/hooks",
        "issues_url": f"{api}/issues",
        "members_url": f"{api}/members{{/member}}",
        "public_members_url": f"{api}/public_members{{/member}}",
        "avatar_url": f"{world.web_url}/avatars/u/{u.id}?v=4",
        "description": None,
    }


def public_user(world: World, login: str) -> dict[str, Any]:
    """PublicUser (GET /users/{username})."""
    u = known_user(world, login)
    created = iso(u.created_at or EPOCH)
    return {
        **user(world, login),
        "name": u.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": u.email,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": sum(1 for r in world.repos.values() if r.owner == u.login),
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created,
        "updated_at": created,
    }


def repository(world: World, repo: Repo, *, full: bool = False) -> dict[str, Any]:
    """Repository (nested in PRs and webhooks), or FullRepository with `full`."""
    api = f"{world.api_url}/repos/{repo.full_name}"
    html = f"{world.web_url}/{repo.full_name}"
    open_count = sum(
        1 for (name, _), pr in world.pulls.items() if name == repo.full_name and pr.state == "open"
    )
    pushed = max((c.date for c in repo.commits.values()), default=repo.created_at)
    urls = {
        f"{name}_url": f"{api}/{suffix}"
        for name, suffix in {
            "archive": "{archive_format}{/ref}",
            "assignees": "assignees{/user}",
            "blobs": "git/blobs{/sha}",
            "branches": "branches{/branch}",
            "collaborators": "collaborators{/collaborator}",
            "comments": "comments{/number}",
            "commits": "commits{/sha}",
            "compare": "compare/{base}...{head}",
            "contents": "contents/{+path}",
            "contributors": "contributors",
            "deployments": "deployments",
            "downloads": "downloads",
            "events": "events",
            "forks": "forks",
            "git_commits": "git/commits{/sha}",
            "git_refs": "git/refs{/sha}",
            "git_tags": "git/tags{/sha}",
            "issue_comment": "issues/comments{/number}",
            "issue_events": "issues/events{/number}",
            "issues": "issues{/number}",
            "keys": "keys{/key_id}",
            "labels": "labels{/name}",
            "languages": "languages",
            "merges": "merges",
            "milestones": "milestones{/number}",
            "notifications": "notifications{?since,all,participating}",
            "pulls": "pulls{/number}",
            "releases": "releases{/id}",
            "stargazers": "stargazers",
            "statuses": "statuses/{sha}",
            "subscribers": "subscribers",
            "subscription": "subscription",
            "tags": "tags",
            "teams": "teams",
            "trees": "git/trees{/sha}",
            "hooks": "hooks",
        }.items()
    }
    data: dict[str, Any] = {
        "id": repo.id,
        "node_id": node_id("R", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "owner": user(world, repo.owner),
        "private": repo.private,
        "html_url": html,
        "description": None,
        "fork": repo.fork_parent is not None,
        "url": api,
        **urls,
        "git_url": f"git://{world.web_url.split('://')[-1]}/{repo.full_name}.git",
        "ssh_url": f"git@{world.web_url.split('://')[-1]}:{repo.full_name}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "license": None,
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": sum(len(b) for b in repo.blobs.values()) // 1024,
        "default_branch": repo.default_branch,
        "open_issues_count": open_count,
        "open_issues": open_count,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_downloads": True,
        "has_wiki": False,
        "has_pages": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo.private else "public",
        "pushed_at": iso(pushed),
        "created_at": iso(repo.created_at),
        "updated_at": iso(pushed),
        "allow_forking": False,
        "web_commit_signoff_required": False,
        "custom_properties": {},
    }
    if full:
        data.update(subscribers_count=0, network_count=0, allow_merge_commit=True)
    return data


def label(world: World, repo: Repo, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("LA", item.id),
        "url": f"{world.api_url}/repos/{repo.full_name}/labels/{quote(item.name, safe='')}",
        "name": item.name,
        "description": item.description,
        "color": item.color,
        "default": False,
        "archived_at": None,
        "archived_by": None,
    }


def team(world: World, t: Team) -> dict[str, Any]:
    """TeamSimple/Team (org teams carry `type: organization`, which the models require)."""
    api = f"{world.api_url}/organizations/{t.org}/team/{t.id}"
    return {
        "id": t.id,
        "node_id": node_id("T", t.id),
        "url": api,
        "html_url": f"{world.web_url}/orgs/{t.org}/teams/{t.slug}",
        "name": t.name,
        "slug": t.slug,
        "description": t.description,
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{api}/members{{/member}}",
        "repositories_url": f"{api}/repos",
        "type": "organization",
        "parent": None,
    }


def integration(world: World, app_id: int | None = None) -> dict[str, Any]:
    """Integration (GET /app and `app` inside check runs): the App under test, or another App
    that writes check runs (`world.other_apps`, e.g. GitHub Actions) when `app_id` names it."""
    app = world.app
    assert app is not None, "configure the App first (Simulator.set_app)"
    other = world.other_apps.get(app_id) if app_id is not None and app_id != app.id else None
    if other is not None:
        return {
            "id": other.id,
            "slug": other.slug,
            "client_id": f"Iv1.{other.id:016x}",
            "node_id": node_id("A", other.id),
            "owner": user(world, "github"),
            "name": other.name,
            "description": "",
            "external_url": f"{world.web_url}/apps/{other.slug}",
            "html_url": f"{world.web_url}/apps/{other.slug}",
            "created_at": iso(EPOCH),
            "updated_at": iso(EPOCH),
            "permissions": {"checks": "write", "metadata": "read"},
            "events": [],
        }
    return {
        "id": app.id,
        "slug": app.slug,
        "client_id": f"Iv1.{app.id:016x}",
        "node_id": node_id("A", app.id),
        "owner": user(world, app.owner),
        "name": app.name,
        "description": "Simulated GitHub App",
        "external_url": f"{world.web_url}/apps/{app.slug}",
        "html_url": f"{world.web_url}/apps/{app.slug}",
        "created_at": iso(app.created_at),
        "updated_at": iso(app.created_at),
        "permissions": dict(app.permissions),
        "events": list(app.events),
    }


def installation(world: World, inst: Installation) -> dict[str, Any]:
    """Installation."""
    app = world.app
    assert app is not None, "configure the App first (Simulator.set_app)"
    account = known_user(world, inst.account)
    return {
        "id": inst.id,
        "client_id": f"Iv1.{app.id:016x}",
        "account": user(world, inst.account),
        "repository_selection": "all" if inst.repositories is None else "selected",
        "access_tokens_url": f"{world.api_url}/app/installations/{inst.id}/access_tokens",
        "repositories_url": f"{world.api_url}/installation/repositories",
        "html_url": f"{world.web_url}/organizations/{inst.account}/settings/installations/"
        f"{inst.id}",
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": account.id,
        "target_type": "Organization" if account.type == "Organization" else "User",
        "permissions": dict(inst.permissions),
        "events": list(app.events),
        "created_at": iso(inst.created_at),
        "updated_at": iso(inst.created_at),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def error(message: str, status: int) -> dict[str, Any]:
    """GitHub's error body; the URL points at the REST docs like GitHub's does."""
    body: dict[str, Any] = {
        "message": message,
        "documentation_url": "https://docs.github.com/rest",
        "status": str(status),
    }
    return body
