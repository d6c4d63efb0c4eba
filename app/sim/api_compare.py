"""`GET /repos/{owner}/{repo}/compare/{base}...{head}`: commits and files between two commits.

GitHub lists at most 250 commits of a pull request (`/pulls/{n}/commits`); the compare endpoint
pages through all of them (`per_page` ≤ 100, `Link` headers), which is how a client reads a PR with
more. Like GitHub, `total_commits` counts every commit from the merge base to the head, commits
are oldest first, and the file list (at most 300) is on the first page only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.sim import shapes_pull
from app.sim.apiutil import page_params, paginate, repo_access
from app.sim.gittree import diff_trees
from app.sim.state import Repo, SimError

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

MAX_COMPARE_FILES = 300
router = APIRouter()


def ancestry(repo: Repo, sha: str) -> list[str]:
    """`sha` and every commit it reaches, parents before children (oldest first)."""
    order: list[str] = []
    seen: set[str] = set()
    stack: list[tuple[str, bool]] = [(sha, False)]
    while stack:
        current, expanded = stack.pop()
        if expanded:
            order.append(current)
            continue
        if current in seen:
            continue
        seen.add(current)
        stack.append((current, True))
        for parent in reversed(repo.commits[current].parents):
            if parent not in seen:
                stack.append((parent, False))
    return order


@router.get("/repos/{owner}/{repo}/compare/{basehead:path}")
def compare(request: Request, owner: str, repo: str, basehead: str) -> JSONResponse:
    sim: Simulator = request.app.state.sim
    base_ref, sep, head_ref = basehead.partition("...")
    with sim.lock:
        r = repo_access(sim, request, owner, repo)
        base, head = r.resolve(base_ref), r.resolve(head_ref)
        if not sep or base is None or head is None:
            raise SimError(404, "Not Found")
        base_line = ancestry(r, base)
        base_set = set(base_line)
        head_line = ancestry(r, head)
        head_set = set(head_line)
        commits = [c for c in head_line if c not in base_set]
        merge_base = next((c for c in reversed(head_line) if c in base_set), base)
        behind = sum(1 for c in base_line if c not in head_set)
        ahead = len(commits)
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        page, headers = paginate(request, commits)
        api = f"{sim.world.api_url}/repos/{r.full_name}"
        html = f"{sim.world.web_url}/{r.full_name}/compare/{basehead}"
        body: dict[str, Any] = {
            "url": f"{api}/compare/{basehead}",
            "html_url": html,
            "permalink_url": f"{sim.world.web_url}/{r.full_name}/compare/{base}...{head}",
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": shapes_pull.commit(sim.world, r, base),
            "merge_base_commit": shapes_pull.commit(sim.world, r, merge_base),
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": [shapes_pull.commit(sim.world, r, sha) for sha in page],
        }
        if page_params(request)[0] == 1:
            changes = diff_trees(r, merge_base, head)[:MAX_COMPARE_FILES]
            body["files"] = [shapes_pull.diff_entry(sim.world, r, head, fc) for fc in changes]
    return JSONResponse(body, headers=headers)
