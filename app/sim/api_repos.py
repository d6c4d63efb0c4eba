"""Routes authenticated as an installation: repos, pulls, contents, checks, labels, teams, users.

Shapes come from `shapes.py`; state changes go through the Simulator's operations (with
`via_api=True`, so the webhooks they cause are queued, never sent from inside this request).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from app.sim import graphql, permissions, shapes, shapes_pull
from app.sim.apiutil import (
    installation_auth,
    installation_token,
    paginate,
    repo_access,
    sim_of,
)
from app.sim.state import CheckRun, SimError

MAX_LISTED_FILES = 3000
MAX_LISTED_COMMITS = 250
MAX_DIFF_FILES = 300

router = APIRouter()


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SimError(400, "Problems parsing JSON") from exc


@router.get("/repos/{owner}/{repo}")
def get_repo(request: Request, owner: str, repo: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        return JSONResponse(shapes.repository(sim.world, r, full=True))


@router.get("/repos/{owner}/{repo}/pulls")
def list_pulls(request: Request, owner: str, repo: str) -> JSONResponse:
    sim = sim_of(request)
    state = request.query_params.get("state", "open")
    base = request.query_params.get("base")
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        pulls = [
            pr
            for (name, _), pr in sorted(sim.world.pulls.items(), key=lambda kv: -kv[0][1])
            if name == r.full_name and state in {"all", pr.state} and base in {None, pr.base_ref}
        ]
        page, headers = paginate(request, pulls)
        body = [shapes_pull.pull_request(sim.world, pr) for pr in page]
    return JSONResponse(body, headers=headers)


@router.get("/repos/{owner}/{repo}/pulls/{number}", response_model=None)
def get_pull(request: Request, owner: str, repo: str, number: int) -> Response:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        pr = sim.pr(f"{r.full_name}#{number}")
        if "diff" in request.headers.get("accept", ""):
            files = shapes_pull.diff_trees_cached(sim.world, r, pr)
            if len(files) > MAX_DIFF_FILES:
                raise SimError(406, "Sorry, the diff exceeded the maximum number of files (300).")
            parts = [
                f"diff --git a/{f.previous_filename or f.filename} b/{f.filename}\n"
                f"--- a/{f.previous_filename or f.filename}\n+++ b/{f.filename}\n{f.patch or ''}\n"
                for f in files
            ]
            return PlainTextResponse("".join(parts), media_type="text/x-diff")
        return JSONResponse(shapes_pull.pull_request(sim.world, pr))


@router.get("/repos/{owner}/{repo}/pulls/{number}/files")
def list_files(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    """At most 3,000 files, like GitHub; `changed_files` on the PR still says the true count."""
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        pr = sim.pr(f"{r.full_name}#{number}")
        files = shapes_pull.diff_trees_cached(sim.world, r, pr)[:MAX_LISTED_FILES]
        page, headers = paginate(request, files)
        body = [shapes_pull.diff_entry(sim.world, r, pr.head_sha, f) for f in page]
    return JSONResponse(body, headers=headers)


@router.get("/repos/{owner}/{repo}/pulls/{number}/commits")
def list_commits(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        pr = sim.pr(f"{r.full_name}#{number}")
        page, headers = paginate(request, pr.commit_shas[:MAX_LISTED_COMMITS])
        body = [shapes_pull.commit(sim.world, r, sha) for sha in page]
    return JSONResponse(body, headers=headers)


@router.get("/repos/{owner}/{repo}/pulls/{number}/reviews")
def list_reviews(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        reviews = sorted(sim.reviews_of(f"{r.full_name}#{number}"), key=lambda x: x.id)
        page, headers = paginate(request, reviews)
        body = [shapes_pull.review(sim.world, x) for x in page]
    return JSONResponse(body, headers=headers)


@router.post("/repos/{owner}/{repo}/pulls/{number}/requested_reviewers")
async def request_reviewers(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim = sim_of(request)
    data = await _json(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
    users, teams = data.get("reviewers") or [], data.get("team_reviewers") or []
    if not isinstance(users, list) or not isinstance(teams, list):
        raise SimError(422, "reviewers and team_reviewers must be arrays of strings")
    pr = sim.request_reviewers(f"{r.full_name}#{number}", list(users), list(teams))
    with sim.lock:
        return JSONResponse(shapes_pull.pull_request(sim.world, pr), status_code=201)


@router.put("/repos/{owner}/{repo}/pulls/{number}/merge")
async def merge(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    """The App merges as its bot; branch protection applies (no admin bypass through the API)."""
    sim = sim_of(request)
    data = await _json(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
    method = data.get("merge_method", "merge")
    if method not in {"merge", "squash", "rebase"}:
        raise SimError(422, f"merge_method must be merge, squash or rebase, not {method!r}")
    sha = sim.merge(
        f"{r.full_name}#{number}",
        by=sim.app_bot(),
        method=method,
        sha=data.get("sha"),
        via_api=True,
    )
    return JSONResponse({"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@router.get("/repos/{owner}/{repo}/contents/{path:path}")
def get_contents(request: Request, owner: str, repo: str, path: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        ref = request.query_params.get("ref") or r.default_branch
        sha = r.resolve(ref)
        if sha is None:
            raise SimError(404, f"No commit found for the ref {ref}")
        path = path.strip("/")
        data = r.read(sha, path)
        if data is not None:
            return JSONResponse(shapes_pull.content_file(sim.world, r, path, ref, data))
        tree = r.commits[sha].tree
        prefix = path + "/" if path else ""
        names = sorted({p[len(prefix) :].split("/", 1)[0] for p in tree if p.startswith(prefix)})
        if not names:
            raise SimError(404, "Not Found")
        listing = []
        for name in names:
            full = prefix + name
            item = r.read(sha, full)
            if item is None:  # a sub-directory
                listing.append(shapes_pull.content_dir(sim.world, r, full, ref, sha))
            else:
                entry = shapes_pull.content_file(sim.world, r, full, ref, item)
                entry.pop("content")
                entry.pop("encoding")
                listing.append(entry)
        return JSONResponse(listing)


@router.get("/repos/{owner}/{repo}/git/blobs/{sha}")
def get_blob(request: Request, owner: str, repo: str, sha: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        if sha not in r.blobs:
            raise SimError(404, "Not Found")
        return JSONResponse(shapes_pull.git_blob(sim.world, r, sha))


@router.post("/repos/{owner}/{repo}/check-runs")
async def create_check_run(request: Request, owner: str, repo: str) -> JSONResponse:
    sim = sim_of(request)
    data = await _json(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
    run = sim.create_check_run(r.full_name, data)
    with sim.lock:
        return JSONResponse(shapes_pull.check_run(sim.world, run), status_code=201)


@router.patch("/repos/{owner}/{repo}/check-runs/{check_run_id}")
async def update_check_run(
    request: Request, owner: str, repo: str, check_run_id: int
) -> JSONResponse:
    sim = sim_of(request)
    data = await _json(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        existing = sim.check_run(r.full_name, check_run_id)
        if sim.world.app is None or existing.app_id != sim.world.app.id:
            # An App may only update its own check runs.
            raise SimError(403, permissions.NOT_ACCESSIBLE)
    run = sim.update_check_run(r.full_name, check_run_id, data)
    with sim.lock:
        return JSONResponse(shapes_pull.check_run(sim.world, run))


@router.get("/repos/{owner}/{repo}/check-runs/{check_run_id}")
def get_check_run(request: Request, owner: str, repo: str, check_run_id: int) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        return JSONResponse(
            shapes_pull.check_run(sim.world, sim.check_run(r.full_name, check_run_id))
        )


@router.get("/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations")
def list_annotations(request: Request, owner: str, repo: str, check_run_id: int) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        run = sim.check_run(r.full_name, check_run_id)
        page, headers = paginate(request, run.annotations)
        body = [shapes_pull.annotation(sim.world, run, a) for a in page]
    return JSONResponse(body, headers=headers)


@router.get("/repos/{owner}/{repo}/commits/{ref}/check-runs")
def list_check_runs_for_ref(request: Request, owner: str, repo: str, ref: str) -> JSONResponse:
    """`filter=latest` (default) keeps the newest run per name, like GitHub; `app_id` keeps one
    App's runs."""
    sim = sim_of(request)
    query = request.query_params
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        sha = r.resolve(ref)
        if sha is None:
            raise SimError(422, f"No commit found for SHA: {ref}")
        runs = sorted(sim.check_runs_for(r.full_name, sha), key=lambda c: -c.id)
        if query.get("check_name"):
            runs = [c for c in runs if c.name == query["check_name"]]
        if query.get("status"):
            runs = [c for c in runs if c.status == query["status"]]
        if query.get("app_id"):
            wanted = query["app_id"]
            runs = [c for c in runs if str(c.app_id) == wanted]
        if query.get("filter", "latest") == "latest":
            newest: dict[str, CheckRun] = {}
            for c in runs:
                newest.setdefault(c.name, c)
            runs = list(newest.values())
        page, headers = paginate(request, runs)
        body = {
            "total_count": len(runs),
            "check_runs": [shapes_pull.check_run(sim.world, c) for c in page],
        }
    return JSONResponse(body, headers=headers)


@router.post("/repos/{owner}/{repo}/issues/{number}/labels")
async def add_labels(request: Request, owner: str, repo: str, number: int) -> JSONResponse:
    sim = sim_of(request)
    data = await _json(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
    raw = data.get("labels") if isinstance(data, dict) else data
    names = [n.get("name") if isinstance(n, dict) else n for n in raw or []]
    if not isinstance(raw, list) or not all(isinstance(n, str) and n for n in names):
        raise SimError(422, 'Invalid request.\n\n"labels" must be an array of names.')
    pr = sim.add_labels(f"{r.full_name}#{number}", [str(n) for n in names])
    with sim.lock:
        return JSONResponse([shapes.label(sim.world, r, r.labels[n]) for n in pr.labels])


@router.delete("/repos/{owner}/{repo}/issues/{number}/labels/{name}")
def remove_label(request: Request, owner: str, repo: str, number: int, name: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
    pr = sim.remove_label(f"{r.full_name}#{number}", name)
    with sim.lock:
        return JSONResponse([shapes.label(sim.world, r, r.labels[n]) for n in pr.labels])


@router.get("/orgs/{org}/teams/{slug}/members")
def team_members(request: Request, org: str, slug: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        installation_auth(sim, request)
        team = sim.world.team(org, slug)
        if team is None:
            raise SimError(404, "Not Found")
        page, headers = paginate(request, sorted(team.members))
        body = [shapes.user(sim.world, login) for login in page]
    return JSONResponse(body, headers=headers)


@router.get("/orgs/{org}/teams/{slug}/memberships/{username}")
def team_membership(request: Request, org: str, slug: str, username: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        inst = installation_auth(sim, request)
        team = sim.world.team(org, slug)
        if team is not None and team.org.lower() != inst.account.lower():
            team = None  # another organization's teams are invisible to this installation
        role = next(
            (v for k, v in (team.members if team else {}).items() if k.lower() == username.lower()),
            None,
        )
        invited = team is not None and any(p.lower() == username.lower() for p in team.pending)
        if team is None or (role is None and not invited):
            raise SimError(404, "Not Found")
        url = f"{sim.world.api_url}/organizations/{team.org}/team/{team.id}/memberships/{username}"
        state = "active" if role is not None else "pending"
        return JSONResponse({"url": url, "role": role or "member", "state": state})


@router.get("/users/{username}")
def get_user(request: Request, username: str) -> JSONResponse:
    sim = sim_of(request)
    with sim.lock:
        installation_auth(sim, request)
        if sim.world.user(username) is None:
            raise SimError(404, "Not Found")
        return JSONResponse(shapes.public_user(sim.world, username))


graphql_router = APIRouter()


@graphql_router.post("/api/graphql")
async def post_graphql(request: Request) -> JSONResponse:
    sim = sim_of(request)
    data = await _json(request)
    query = data.get("query") if isinstance(data, dict) else None
    if not isinstance(query, str):
        raise SimError(400, "A query attribute must be specified and must be a string.")
    with sim.lock:
        issued, inst = installation_token(sim, request)
        visible = {
            r.full_name
            for r in sim.world.repos.values()
            if sim.world.installation_for(r.full_name) is inst
        }
        contents = permissions.token_grants(
            issued.permissions, inst.permissions, *permissions.GRAPHQL_CONTENTS
        )
        return JSONResponse(graphql.execute(sim.world, query, visible, can_read_contents=contents))
