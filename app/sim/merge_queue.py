"""A merge queue, as GitHub runs one for a protected branch.

`enqueue` builds the group (→ `pull_request` `enqueued`): a commit of the base tip plus the PR's changes on a read-only branch
`gh-readonly-queue/<base>/pr-<N>-<head sha>`, then sends `merge_group` (`checks_requested`) and
waits for the branch's required checks *on the group head*. `advance` merges the PR when they
pass (→ `pull_request` closed, merged) or removes it when they fail (→ `dequeued`); either way the group is
destroyed (→ `merge_group` `destroyed`, reason `merged` or `invalidated`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app.sim import shapes, webhooks
from app.sim.base import PASSING, PrRef
from app.sim.state import PullRequest, SimError, World, iso
from app.sim.webhooks import Outgoing, _envelope

if TYPE_CHECKING:
    from app.sim.simulator import Simulator

READONLY_PREFIX = "gh-readonly-queue"


@dataclass
class MergeGroup:
    repo: str
    number: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    enqueued_by: str


def group_ref(base_ref: str, number: int, head_sha: str) -> str:
    return f"{READONLY_PREFIX}/{base_ref}/pr-{number}-{head_sha}"


class MergeQueue:
    """The queue of one simulator (all repositories); entries in order of enqueueing."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.groups: list[MergeGroup] = []

    def enqueue(self, pr: PrRef, *, by: str) -> MergeGroup:
        """Add the PR to its base branch's queue (→ merge_group checks_requested)."""
        from app.sim.simulator import _merge_trees

        sim = self.sim
        with sim._op():
            p = sim.pr(pr)
            if p.state != "open" or p.draft:
                raise SimError(422, f"{p.repo}#{p.number} cannot be added to the merge queue")
            r = sim._repo(p.repo)
            tip = r.branches[p.base_ref]
            tree = _merge_trees(r, p.base_sha, tip, p.head_sha)
            message = f"Merge pull request #{p.number} from {p.head_ref}\n\n{p.title}"
            sha = sim._commit(r, [tip, p.head_sha], {}, message, by, tree=tree)
            ref = group_ref(p.base_ref, p.number, p.head_sha)
            r.branches[ref] = sha
            group = MergeGroup(r.full_name, p.number, ref, sha, p.base_ref, tip, by)
            self.groups.append(group)
            sim.log.append(f"enqueue {p.repo}#{p.number} as {ref}")
            sim._emit(webhooks.pull_request_event(sim.world, p, "enqueued", by))
            sim._emit(merge_group_event(sim.world, group, "checks_requested", by))
            return group

    def failing(self, group: MergeGroup) -> list[str]:
        """GitHub's messages for required checks that do not pass on the group head."""
        r = self.sim._repo(group.repo)
        problems = []
        for name in r.required_checks:
            runs = [
                c for c in self.sim.check_runs_for(group.repo, group.head_sha) if c.name == name
            ]
            latest = max(runs, key=lambda c: c.id) if runs else None
            if latest is None or latest.status != "completed":
                problems.append(f'Required status check "{name}" is expected.')
            elif latest.conclusion not in PASSING:
                problems.append(f'Required status check "{name}" is failing.')
        return problems

    def settled(self, group: MergeGroup) -> bool:
        """Every required check on the group head has completed (GitHub waits for this)."""
        return not any(p.endswith("is expected.") for p in self.failing(group))

    def advance(self, group: MergeGroup) -> Literal["merged", "removed"]:
        """Merge the PR if the group's required checks pass, else drop it from the queue."""
        sim = self.sim
        with sim._op():
            if group not in self.groups:
                raise SimError(404, f"{group.head_ref} is not queued")
            if not self.settled(group):
                raise SimError(409, f"{group.head_ref}: required checks have not completed")
            failing = self.failing(group)
            self.groups.remove(group)
            r = sim._repo(group.repo)
            r.branches.pop(group.head_ref, None)
            pr = sim.pr(f"{group.repo}#{group.number}")
            if failing:
                sim.log.append(f"dequeue {group.repo}#{group.number}: {failing[0]}")
                sim._emit(
                    webhooks.pull_request_event(
                        sim.world, pr, "dequeued", group.enqueued_by, reason="CI_FAILURE"
                    )
                )
                sim._emit(merge_group_event(sim.world, group, "destroyed", group.enqueued_by))
                return "removed"
            sim.merge(pr, by=group.enqueued_by)
            sim._emit(merge_group_event(sim.world, group, "destroyed", group.enqueued_by))
            return "merged"

    def pull(self, group: MergeGroup) -> PullRequest:
        return self.sim.pr(f"{group.repo}#{group.number}")


def merge_group_event(world: World, group: MergeGroup, action: str, sender: str) -> Outgoing:
    """`merge_group` (checks_requested / destroyed) with the group GitHub describes."""
    repo = world.repos[group.repo.lower()]
    inst = world.installation_for(group.repo)
    commit = repo.commits[group.head_sha]
    author = shapes.known_user(world, commit.author)
    ident = {
        "name": author.name or author.login,
        "email": author.email or f"{author.login}@users.noreply.github.com",
    }
    payload: dict[str, Any] = {
        "action": action,
        "merge_group": {
            "head_sha": group.head_sha,
            "head_ref": f"refs/heads/{group.head_ref}",
            "base_sha": group.base_sha,
            "base_ref": f"refs/heads/{group.base_ref}",
            "head_commit": {
                "id": group.head_sha,
                "tree_id": commit.tree_sha,
                "message": commit.message,
                "timestamp": iso(commit.date),
                "author": ident,
                "committer": ident,
            },
        },
        **_envelope(world, repo, sender, inst),
    }
    if action == "destroyed":
        payload["reason"] = "merged" if group.number and _merged(world, group) else "invalidated"
    return Outgoing("merge_group", action, payload, inst.id if inst else None, repo.id)


def _merged(world: World, group: MergeGroup) -> bool:
    pr = world.pull(group.repo, group.number)
    return bool(pr and pr.merged)
