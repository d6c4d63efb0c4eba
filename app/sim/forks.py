"""Forks: a PR whose head branch lives in another repository (GitHub's `head.repo.fork: true`).

The fork shares the parent's objects (GitHub keeps a fork's PR commits in the base repository
under `refs/pull/N/head`), holds its own branches, and is the PR's `head.repo`. GitHub does not
link fork PRs to check runs: `check_run.pull_requests` and `check_suite.pull_requests` are `[]`
for them, which is what an App must cope with on Re-run and on requested actions.
"""

from __future__ import annotations

from app.sim.state import PullRequest, Repo, SimError, World


def fork_of(world: World, parent: Repo, owner: str, new_id: int) -> Repo:
    """The `owner`'s fork of `parent` (created on first use, like "Fork" on github.com)."""
    full_name = f"{owner}/{parent.name}"
    existing = world.repo(full_name)
    if existing is not None:
        if existing.fork_parent != parent.full_name:
            raise SimError(422, f"{full_name} exists and is not a fork of {parent.full_name}")
        return existing
    fork = Repo(
        new_id,
        owner,
        parent.name,
        parent.created_at,
        default_branch=parent.default_branch,
        private=parent.private,
        branches={},
        commits=parent.commits,
        blobs=parent.blobs,
        required_checks=(),
        fork_parent=parent.full_name,
    )
    world.repos[full_name.lower()] = fork
    return fork


def head_repo(world: World, pr: PullRequest) -> Repo:
    """The repository holding the PR's head branch (the base repository unless a fork)."""
    return world.repos[(pr.head_repo or pr.repo).lower()]


def is_linked_to_checks(pr: PullRequest) -> bool:
    """Whether GitHub lists this PR in `check_run.pull_requests` (never for fork PRs)."""
    return pr.head_repo is None
