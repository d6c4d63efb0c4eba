"""REST object shapes: full JSON objects, as GitHub serves them, built from the simulator's records.

githubkit's response models are strict (STACK-NOTES.md), so every builder fills every required
field with a plausible value; the contract test validates each one against githubkit's models.
The same builders feed webhook payloads, so an API answer and a webhook agree field for field.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from typing import Any

from app.sim.state import (
    CheckRun,
    FileChange,
    Installation,
    Label,
    PullRequest,
    Repo,
    Review,
    Team,
    User,
    World,
    iso,
)

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
PERMISSIONS = {
    "checks": "write",
    "contents": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
}


def node_id(prefix: str, number: int) -> str:
    return f"{prefix}_kgDO{base64.b64encode(str(number).encode()).decode().rstrip('=')}"


def _known(world: World, login: str) -> User:
    """The user record, or a stable stand-in for a login the scenario never declared."""
    found = world.user(login)
    if found is not None:
        return found
    number = int(hashlib.sha1(login.encode(), usedforsecurity=False).hexdigest()[:7], 16)
    return User(login=login, id=number, type="Bot" if login.endswith("[bot]") else "User")


def user(world: World, login: str) -> dict[str, Any]:
    """SimpleUser."""
    u = _known(world, login)
    api = f"{world.api_url}/users/{u.login}"
    return {
        "login": u.login,
        "id": u.id,
        "node_id": node_id("U" if u.type != "Bot" else "BOT", u.id),
        "avatar_url": f"{world.web_url}/avatars/u/{u.id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{world.web_url}/{u.login}",
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


def public_user(world: World, login: str) -> dict[str, Any]:
    """PublicUser (GET /users/{username})."""
    u = _known(world, login)
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
        "fork": False,
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
    }
    if full:
        data.update(subscribers_count=0, network_count=0, allow_merge_commit=True)
    return data


def label(world: World, repo: Repo, item: Label) -> dict[str, Any]:
    return {
        "id": item.id,
        "node_id": node_id("LA", item.id),
        "url": f"{world.api_url}/repos/{repo.full_name}/labels/{item.name}",
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


def _ref(world: World, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo.owner}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": user(world, repo.owner),
        "repo": repository(world, repo),
    }


def pull_request(world: World, pr: PullRequest) -> dict[str, Any]:
    """PullRequest (the full object of GET /pulls/{n} and of pull_request webhooks)."""
    repo = world.repos[pr.repo.lower()]
    api = f"{world.api_url}/repos/{pr.repo}"
    html = f"{world.web_url}/{pr.repo}/pull/{pr.number}"
    files = diff_trees_cached(repo, pr)
    teams = [t for key in pr.requested_teams if (t := world.team(*key.split("/", 1)))]
    link = {
        "self": f"{api}/pulls/{pr.number}",
        "html": html,
        "issue": f"{api}/issues/{pr.number}",
        "comments": f"{api}/issues/{pr.number}/comments",
        "review_comments": f"{api}/pulls/{pr.number}/comments",
        "review_comment": f"{api}/pulls/comments{{/number}}",
        "commits": f"{api}/pulls/{pr.number}/commits",
        "statuses": f"{api}/statuses/{pr.head_sha}",
    }
    return {
        "url": link["self"],
        "id": pr.id,
        "node_id": node_id("PR", pr.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": link["issue"],
        "commits_url": link["commits"],
        "review_comments_url": link["review_comments"],
        "review_comment_url": link["review_comment"],
        "comments_url": link["comments"],
        "statuses_url": link["statuses"],
        "number": pr.number,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "user": user(world, pr.author),
        "body": pr.body,
        "labels": [label(world, repo, repo.labels[name]) for name in pr.labels],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": iso(pr.created_at),
        "updated_at": iso(pr.updated_at),
        "closed_at": iso(pr.closed_at) if pr.closed_at else None,
        "merged_at": iso(pr.merged_at) if pr.merged_at else None,
        "merge_commit_sha": pr.merge_commit_sha,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [user(world, login) for login in pr.requested_reviewers],
        "requested_teams": [team(world, t) for t in teams],
        "head": _ref(world, repo, pr.head_ref, pr.head_sha),
        "base": _ref(world, repo, pr.base_ref, pr.base_sha),
        "_links": {name: {"href": href} for name, href in link.items()},
        "author_association": "NONE" if pr.author.endswith("[bot]") else "MEMBER",
        "auto_merge": None,
        "draft": pr.draft,
        "merged": pr.merged,
        "mergeable": None if pr.merged else True,
        "rebaseable": None if pr.merged else True,
        "mergeable_state": "unknown" if pr.merged else "clean",
        "merged_by": user(world, pr.merged_by) if pr.merged_by else None,
        "comments": 0,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": len(pr.commit_shas),
        "additions": sum(f.additions for f in files),
        "deletions": sum(f.deletions for f in files),
        "changed_files": len(files),
    }


def pull_request_minimal(world: World, pr: PullRequest) -> dict[str, Any]:
    """PullRequestMinimal (inside check runs)."""
    repo = world.repos[pr.repo.lower()]
    mini = {"id": repo.id, "url": f"{world.api_url}/repos/{pr.repo}", "name": repo.name}
    return {
        "id": pr.id,
        "number": pr.number,
        "url": f"{world.api_url}/repos/{pr.repo}/pulls/{pr.number}",
        "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": mini},
        "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": mini},
    }


_DIFF_CACHE: dict[tuple[int, str, str], list[FileChange]] = {}


def diff_trees_cached(repo: Repo, pr: PullRequest) -> list[FileChange]:
    """The PR's file list; commits are immutable, so (repo, base, head) is a safe cache key."""
    from app.sim.state import diff_trees

    key = (repo.id, pr.base_sha, pr.head_sha)
    if key not in _DIFF_CACHE:
        if len(_DIFF_CACHE) > 256:
            _DIFF_CACHE.clear()
        _DIFF_CACHE[key] = diff_trees(repo, pr.base_sha, pr.head_sha)
    return _DIFF_CACHE[key]


def diff_entry(world: World, repo: Repo, pr: PullRequest, fc: FileChange) -> dict[str, Any]:
    """DiffEntry (GET /pulls/{n}/files)."""
    blob = f"{world.web_url}/{repo.full_name}/blob/{pr.head_sha}/{fc.filename}"
    entry: dict[str, Any] = {
        "sha": fc.sha,
        "filename": fc.filename,
        "status": fc.status,
        "additions": fc.additions,
        "deletions": fc.deletions,
        "changes": fc.additions + fc.deletions,
        "blob_url": blob,
        "raw_url": blob.replace("/blob/", "/raw/"),
        "contents_url": f"{world.api_url}/repos/{repo.full_name}/contents/{fc.filename}"
        f"?ref={pr.head_sha}",
    }
    if fc.patch is not None:
        entry["patch"] = fc.patch
    if fc.previous_filename:
        entry["previous_filename"] = fc.previous_filename
    return entry


def commit(world: World, repo: Repo, sha: str) -> dict[str, Any]:
    """Commit (GET /pulls/{n}/commits), with author/committer accounts and git identities."""
    c = repo.commits[sha]
    api = f"{world.api_url}/repos/{repo.full_name}"

    def git_user(login: str) -> dict[str, Any]:
        u = _known(world, login)
        email = u.email or f"{u.id}+{u.login}@users.noreply.github.localhost"
        return {"name": u.name or u.login, "email": email, "date": iso(c.date)}

    return {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("C", int(sha[:7], 16)),
        "html_url": f"{world.web_url}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": git_user(c.author),
            "committer": git_user(c.committer),
            "message": c.message,
            "comment_count": 0,
            "tree": {"sha": c.tree_sha, "url": f"{api}/git/trees/{c.tree_sha}"},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "payload": None,
                "signature": None,
                "verified_at": None,
            },
        },
        "author": user(world, c.author),
        "committer": user(world, c.committer),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{world.web_url}/commit/{p}"}
            for p in c.parents
        ],
    }


def review(world: World, r: Review) -> dict[str, Any]:
    """PullRequestReview."""
    api = f"{world.api_url}/repos/{r.repo}/pulls/{r.number}"
    html = f"{world.web_url}/{r.repo}/pull/{r.number}#pullrequestreview-{r.id}"
    return {
        "id": r.id,
        "node_id": node_id("PRR", r.id),
        "user": user(world, r.user),
        "body": r.body,
        "state": r.state,
        "html_url": html,
        "pull_request_url": api,
        "_links": {"html": {"href": html}, "pull_request": {"href": api}},
        "submitted_at": iso(r.submitted_at),
        "commit_id": r.commit_id,
        "author_association": "MEMBER",
    }


def integration(world: World) -> dict[str, Any]:
    """Integration (GET /app and `app` inside check runs)."""
    app = world.app
    assert app is not None, "configure the App first (Simulator.set_app)"
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
        "permissions": PERMISSIONS,
        "events": list(app.events),
        "installations_count": len(world.installations),
    }


def check_run(world: World, cr: CheckRun) -> dict[str, Any]:
    """CheckRun, with the open PRs whose head is this SHA (as GitHub links them)."""
    api = f"{world.api_url}/repos/{cr.repo}/check-runs/{cr.id}"
    prs = [
        pull_request_minimal(world, pr)
        for (name, _), pr in sorted(world.pulls.items())
        if name == cr.repo and pr.head_sha == cr.head_sha and pr.state == "open"
    ]
    return {
        "id": cr.id,
        "head_sha": cr.head_sha,
        "node_id": node_id("CR", cr.id),
        "external_id": cr.external_id or "",
        "url": api,
        "html_url": f"{world.web_url}/{cr.repo}/runs/{cr.id}",
        "details_url": cr.details_url,
        "status": cr.status,
        "conclusion": cr.conclusion,
        "started_at": iso(cr.started_at) if cr.started_at else None,
        "completed_at": iso(cr.completed_at) if cr.completed_at else None,
        "output": {
            "title": cr.title,
            "summary": cr.summary,
            "text": cr.text,
            "annotations_count": len(cr.annotations),
            "annotations_url": f"{api}/annotations",
        },
        "name": cr.name,
        "check_suite": {"id": cr.check_suite_id},
        "app": integration(world),
        "pull_requests": prs,
    }


def annotation(world: World, cr: CheckRun, item: dict[str, Any]) -> dict[str, Any]:
    """CheckAnnotation (GET /check-runs/{id}/annotations)."""
    return {
        "path": item["path"],
        "start_line": item["start_line"],
        "end_line": item["end_line"],
        "start_column": item.get("start_column"),
        "end_column": item.get("end_column"),
        "annotation_level": item["annotation_level"],
        "title": item.get("title"),
        "message": item["message"],
        "raw_details": item.get("raw_details"),
        "blob_href": f"{world.web_url}/{cr.repo}/blob/{cr.head_sha}/{item['path']}",
    }


def content_file(world: World, repo: Repo, path: str, ref: str, data: bytes) -> dict[str, Any]:
    """ContentFile (GET /contents/{path}); content is base64 in 60-column lines like GitHub."""
    from app.sim.state import blob_sha

    sha = blob_sha(data)
    encoded = base64.b64encode(data).decode()
    wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
    api = f"{world.api_url}/repos/{repo.full_name}/contents/{path}?ref={ref}"
    git = f"{world.api_url}/repos/{repo.full_name}/git/blobs/{sha}"
    html = f"{world.web_url}/{repo.full_name}/blob/{ref}/{path}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": wrapped,
        "sha": sha,
        "url": api,
        "git_url": git,
        "html_url": html,
        "download_url": html.replace("/blob/", "/raw/"),
        "_links": {"self": api, "git": git, "html": html},
    }


def git_blob(world: World, repo: Repo, sha: str) -> dict[str, Any]:
    """Blob (GET /git/blobs/{sha})."""
    data = repo.blobs[sha]
    return {
        "sha": sha,
        "node_id": node_id("B", int(sha[:7], 16)),
        "size": len(data),
        "url": f"{world.api_url}/repos/{repo.full_name}/git/blobs/{sha}",
        "content": base64.b64encode(data).decode(),
        "encoding": "base64",
    }


def installation(world: World, inst: Installation) -> dict[str, Any]:
    """Installation."""
    app = world.app
    assert app is not None, "configure the App first (Simulator.set_app)"
    account = _known(world, inst.account)
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
        "permissions": PERMISSIONS,
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
