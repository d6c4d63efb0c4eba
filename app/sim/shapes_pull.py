"""REST shapes of pull requests, commits, reviews, check runs and contents (see shapes.py).

Split from `shapes.py` (accounts, repositories, the App) to keep each module one concept.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Literal
from urllib.parse import quote

from app.sim import forks, identities, shapes_issues
from app.sim.gittree import diff_trees
from app.sim.shapes import (
    EPOCH,
    integration,
    known_user,
    label,
    node_id,
    repository,
    team,
    user,
)
from app.sim.state import (
    CheckRun,
    FileChange,
    PullRequest,
    Repo,
    Review,
    World,
    blob_sha,
    iso,
)


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
    files = diff_trees_cached(world, repo, pr)
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
        "merge_commit_sha": pr.merge_commit_sha
        or (merge_ref_sha(pr) if pr.state == "open" else None),
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [user(world, login) for login in pr.requested_reviewers],
        "requested_teams": [team(world, t) for t in teams],
        "head": _ref(world, forks.head_repo(world, pr), pr.head_ref, pr.head_sha),
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
        "comments": shapes_issues.comment_count(world, pr),
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
    hrepo = forks.head_repo(world, pr)
    head_mini = {
        "id": hrepo.id,
        "url": f"{world.api_url}/repos/{hrepo.full_name}",
        "name": hrepo.name,
    }
    return {
        "id": pr.id,
        "number": pr.number,
        "url": f"{world.api_url}/repos/{pr.repo}/pulls/{pr.number}",
        "head": {"ref": pr.head_ref, "sha": pr.head_sha, "repo": head_mini},
        "base": {"ref": pr.base_ref, "sha": pr.base_sha, "repo": mini},
    }


def diff_trees_cached(world: World, repo: Repo, pr: PullRequest) -> list[FileChange]:
    """The PR's file list; commits are immutable, so (repo, base, head) is a safe cache key."""
    key = (repo.id, pr.base_sha, pr.head_sha)
    cache = world.diff_cache
    if key not in cache:
        if len(cache) > 256:
            cache.clear()
        cache[key] = diff_trees(repo, pr.base_sha, pr.head_sha)
    return cache[key]


def diff_entry(world: World, repo: Repo, head_sha: str, fc: FileChange) -> dict[str, Any]:
    """DiffEntry (GET /pulls/{n}/files, and the files of GET /compare)."""
    path = quote(fc.filename)  # GitHub %-encodes file paths in these URLs
    blob = f"{world.web_url}/{repo.full_name}/blob/{head_sha}/{path}"
    entry: dict[str, Any] = {
        "sha": fc.sha,
        "filename": fc.filename,
        "status": fc.status,
        "additions": fc.additions,
        "deletions": fc.deletions,
        "changes": fc.additions + fc.deletions,
        "blob_url": blob,
        "raw_url": blob.replace("/blob/", "/raw/"),
        "contents_url": f"{world.api_url}/repos/{repo.full_name}/contents/{path}?ref={head_sha}",
    }
    if fc.patch is not None:
        entry["patch"] = fc.patch
    if fc.previous_filename:
        entry["previous_filename"] = fc.previous_filename
    return entry


def commit(world: World, repo: Repo, sha: str) -> dict[str, Any]:
    """Commit (GET /pulls/{n}/commits): git identities, and the linked accounts or null."""
    c = repo.commits[sha]
    api = f"{world.api_url}/repos/{repo.full_name}"

    return {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("C", int(sha[:7], 16)),
        "html_url": f"{world.web_url}/{repo.full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": identities.git_identity(world, c.author, iso(c.date)),
            "committer": identities.git_identity(world, c.committer, iso(c.date)),
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
        "author": identities.account(world, c.author),
        "committer": identities.account(world, c.committer),
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


def check_run(world: World, cr: CheckRun) -> dict[str, Any]:
    """CheckRun, with the open PRs whose head is this SHA (as GitHub links them)."""
    api = f"{world.api_url}/repos/{cr.repo}/check-runs/{cr.id}"
    prs = [
        pull_request_minimal(world, pr)
        for (name, _), pr in sorted(world.pulls.items())
        if name == cr.repo
        and pr.head_sha == cr.head_sha
        and pr.state == "open"
        and forks.is_linked_to_checks(pr)
    ]
    return {
        "id": cr.id,
        "head_sha": cr.head_sha,
        "node_id": node_id("CR", cr.id),
        "external_id": cr.external_id or "",
        "url": api,
        "html_url": f"{world.web_url}/{cr.repo}/runs/{cr.id}",
        # GitHub falls back to the App's homepage when the integrator gives no details URL.
        "details_url": cr.details_url
        or f"{world.web_url}/apps/{world.app.slug if world.app else 'app'}",
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
        "app": integration(world, cr.app_id),
        "pull_requests": prs,
    }


def check_suite(world: World, cr: CheckRun, *, brief: bool = False) -> dict[str, Any]:
    """The check suite of `cr` (one per App and head SHA): `brief` inside check_run webhooks,
    full (with head_commit and counts) in check_suite webhooks."""
    repo = world.repos[cr.repo.lower()]
    commit = repo.commits.get(cr.head_sha)
    runs = [r for r in world.check_runs.values() if r.check_suite_id == cr.check_suite_id]
    first = min((r.started_at for r in runs if r.started_at), default=None)
    created = first or cr.started_at or (commit.date if commit else EPOCH)
    url = f"{world.api_url}/repos/{repo.full_name}/check-suites/{cr.check_suite_id}"
    run = check_run(world, cr)
    suite: dict[str, Any] = {
        "id": cr.check_suite_id,
        "node_id": node_id("CS", cr.check_suite_id),
        "head_branch": next((b for b, sha in repo.branches.items() if sha == cr.head_sha), None),
        "head_sha": cr.head_sha,
        "status": cr.status if cr.status in {"queued", "in_progress", "completed"} else "queued",
        "conclusion": cr.conclusion,
        "url": url,
        "before": commit.parents[0] if commit and commit.parents else None,
        "after": cr.head_sha,
        "pull_requests": run["pull_requests"],
        "app": run["app"],
        "created_at": iso(created),
        "updated_at": iso(cr.completed_at or created),
    }
    if brief or commit is None:
        return suite
    return {
        **suite,
        "latest_check_runs_count": len({r.name for r in runs}),
        "check_runs_url": f"{url}/check-runs",
        "head_commit": {
            "id": commit.sha,
            "tree_id": commit.tree_sha,
            "message": commit.message,
            "timestamp": iso(commit.date),
            "author": _git_identity(world, commit.author),
            "committer": _git_identity(world, commit.committer),
        },
    }


def _git_identity(world: World, login: str) -> dict[str, str]:
    u = known_user(world, login)
    return {
        "name": u.name or u.login,
        "email": u.email or f"{u.id}+{u.login}@users.noreply.github.localhost",
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
    encoded = base64.b64encode(data).decode()
    wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + "\n"
    entry = _content_entry(world, repo, path, ref, "blob", blob_sha(data))
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "content": wrapped,
        **entry,
        "download_url": entry["html_url"].replace("/blob/", "/raw/"),
    }


def content_dir(world: World, repo: Repo, path: str, ref: str, commit: str) -> dict[str, Any]:
    """A sub-directory entry of a ContentDirectory listing (its sha: the folder's tree)."""
    prefix = path + "/"
    listing = "\n".join(
        f"{p} {b}" for p, b in sorted(repo.commits[commit].tree.items()) if p.startswith(prefix)
    )
    sha = hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()
    entry = _content_entry(world, repo, path, ref, "tree", sha)
    return {"type": "dir", "size": 0, **entry, "download_url": None}


def _content_entry(
    world: World, repo: Repo, path: str, ref: str, kind: Literal["blob", "tree"], sha: str
) -> dict[str, Any]:
    """What a file and a directory entry of GET /contents share: name, path, the git object's
    sha, and the three links (API at `ref`, the git blob or tree, the web page)."""
    where = quote(path)
    api = f"{world.api_url}/repos/{repo.full_name}/contents/{where}?ref={quote(ref, safe='')}"
    git = f"{world.api_url}/repos/{repo.full_name}/git/{kind}s/{sha}"
    html = f"{world.web_url}/{repo.full_name}/{kind}/{quote(ref)}/{where}"
    return {
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": api,
        "git_url": git,
        "html_url": html,
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


def merge_ref_sha(pr: PullRequest) -> str:
    """The SHA GitHub gives an open PR's test merge (`refs/pull/<n>/merge`): what a
    `pull_request` run checks out and its OIDC token's `sha`. Derived from base and head, so a
    push (or a base that moves) gives a new one."""
    return hashlib.sha1(f"test-merge:{pr.base_sha}:{pr.head_sha}".encode()).hexdigest()
