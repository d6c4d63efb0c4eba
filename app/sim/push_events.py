"""`push`: a branch moved (a merge, a direct push), as GitHub sends it to an App subscribed to
`push` (`@octokit/webhooks-schemas` `push$event`). GitHub sends no pull-request event when a PR's
base moves, so this is how an App learns of it. Up to 20 new commits, oldest first, each with the
files it added, removed and modified against its first parent.
"""

from __future__ import annotations

from typing import Any

from app.sim import identities, shapes
from app.sim.api_compare import ancestry
from app.sim.state import Repo, World, iso
from app.sim.webhooks import Outgoing, _envelope

MAX_PUSH_COMMITS = 20
"""GitHub lists at most 20 commits in a push payload."""
ZERO_SHA = "0" * 40


def push_event(
    world: World, repo: Repo, branch: str, before: str, after: str, sender: str
) -> Outgoing:
    """`push` of `branch` from `before` to `after` by `sender`."""
    inst = world.installation_for(repo.full_name)
    old = set(ancestry(repo, before)) if before in repo.commits else set()
    new = [sha for sha in ancestry(repo, after) if sha not in old]
    html = f"{world.web_url}/{repo.full_name}"
    payload: dict[str, Any] = {
        "ref": f"refs/heads/{branch}",
        "before": before or ZERO_SHA,
        "after": after,
        "created": not before,
        "deleted": False,
        "forced": bool(before) and before not in set(ancestry(repo, after)),
        "base_ref": None,
        "compare": f"{html}/compare/{(before or ZERO_SHA)[:12]}...{after[:12]}",
        "commits": [_commit(world, repo, sha) for sha in new[-MAX_PUSH_COMMITS:]],
        "head_commit": _commit(world, repo, after),
        "pusher": _pusher(world, sender),
        **_envelope(world, repo, sender, inst),
    }
    return Outgoing("push", None, payload, inst.id if inst else None, repo.id)


def _pusher(world: World, who: str) -> dict[str, Any]:
    ident = identities.git_identity(world, who, "")
    return {"name": shapes.user(world, who)["login"], "email": ident["email"]}


def _commit(world: World, repo: Repo, sha: str) -> dict[str, Any]:
    c = repo.commits[sha]
    parent = repo.commits[c.parents[0]].tree if c.parents else {}
    added = sorted(p for p in c.tree if p not in parent)
    removed = sorted(p for p in parent if p not in c.tree)
    modified = sorted(p for p in c.tree if p in parent and parent[p] != c.tree[p])
    return {
        "id": sha,
        "tree_id": c.tree_sha,
        "distinct": True,
        "message": c.message,
        "timestamp": iso(c.date),
        "url": f"{world.web_url}/{repo.full_name}/commit/{sha}",
        "author": _person(world, c.author, iso(c.date)),
        "committer": _person(world, c.committer, iso(c.date)),
        "added": added,
        "removed": removed,
        "modified": modified,
    }


def _person(world: World, who: str, date: str) -> dict[str, Any]:
    ident = identities.git_identity(world, who, date)
    linked = identities.account(world, who)
    person: dict[str, Any] = {"name": ident["name"], "email": ident["email"], "date": date}
    if linked is not None:
        person["username"] = linked["login"]
    return person
