"""The stateful local GitHub: operations that change the world and emit the webhooks GitHub would.

Pull requests, reviews and merges here; check runs and review requests (what the App does through
the API) too; labels and comments in `app.sim.conversation`. PRs are referred to as `"owner/repo#7"` or by their `PullRequest` record.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, Literal

from app.sim import forks, identities, shapes, webhooks
from app.sim.base import PASSING, PrRef, as_changes
from app.sim.check_api import CheckRunApi
from app.sim.conversation import Conversation
from app.sim.deployments import Deployments
from app.sim.merge_queue import MergeQueue
from app.sim.push_events import push_event
from app.sim.state import (
    PullRequest,
    Repo,
    Review,
    ReviewState,
    SimError,
)


class Simulator(Conversation, CheckRunApi):
    """In-process API of the simulator (the control API under `/_sim/` calls the same methods)."""

    @property
    def merge_queue(self) -> MergeQueue:
        """The merge queue (see merge_queue.py), made on first use."""
        queue: MergeQueue | None = getattr(self, "_merge_queue", None)
        if queue is None:
            queue = self._merge_queue = MergeQueue(self)
        return queue

    @property
    def deployments(self) -> Deployments:
        """Environments, workflow runs and deployments (see deployments.py), made on first use."""
        made: Deployments | None = getattr(self, "_deployments", None)
        if made is None:
            made = self._deployments = Deployments(self)
        return made

    # --- pull requests -------------------------------------------------------------------
    def open_pr(
        self,
        repo: str,
        author: str,
        branch: str,
        files: Mapping[str, bytes | str | None],
        *,
        title: str,
        body: str = "",
        message: str | None = None,
        base: str | None = None,
        draft: bool = False,
        committer: str | None = None,
        commit_author: str | None = None,
        fork_owner: str | None = None,
    ) -> PullRequest:
        """Push `branch` (one commit of `files` on the base tip) and open a PR (→ opened).

        The commit is `author`'s unless `commit_author` (a login or raw `Name <e-mail>`) says who.
        With `fork_owner`, the branch is pushed to that owner's fork (a fork PR, see forks.py).
        """
        with self._op():
            r = self._repo(repo)
            base_ref = base or r.default_branch
            if base_ref not in r.branches:
                raise SimError(422, f"base branch {base_ref!r} does not exist in {repo}")
            holder = (
                forks.fork_of(self.world, r, fork_owner, self.world.new_id()) if fork_owner else r
            )
            if branch in holder.branches:
                raise SimError(422, f"branch {branch!r} already exists in {holder.full_name}")
            fork = r.branches[base_ref]
            head = self._commit(
                r, [fork], as_changes(files), message or title, commit_author or author, committer
            )
            holder.branches[branch] = head
            numbers = self._numbers.setdefault(r.full_name, itertools.count(1))
            now = self.now()
            pr = PullRequest(
                self.world.new_id(),
                next(numbers),
                r.full_name,
                title,
                body,
                self._ensure_user(author).login,
                base_ref,
                branch,
                fork,
                head,
                now,
                now,
                draft=draft,
                commit_shas=[head],
                head_repo=holder.full_name if fork_owner else None,
            )
            self.world.pulls[(r.full_name, pr.number)] = pr
            self.log.append(f"open_pr {r.full_name}#{pr.number} by {author}")
            self._emit(webhooks.pull_request_event(self.world, pr, "opened", author))
            return pr

    def push(
        self,
        pr: PrRef,
        files: Mapping[str, bytes | str | None],
        *,
        message: str,
        author: str | None = None,
        committer: str | None = None,
    ) -> str:
        """A new commit on the PR's head branch (→ synchronize); returns its SHA.

        `author`/`committer` are logins or raw `Name <e-mail>` git identities (see identities.py).
        """
        with self._op():
            p = self.pr(pr)
            if p.state != "open":
                raise SimError(422, f"{p.repo}#{p.number} is closed")
            r = self._repo(p.repo)
            before = p.head_sha
            who = author or p.author
            sha = self._commit(r, [before], as_changes(files), message, who, committer)
            if identities.raw_identity(who) is not None:
                who = p.author  # the pusher: a raw git identity is no account to send as
            forks.head_repo(self.world, p).branches[p.head_ref] = sha
            p.head_sha = sha
            p.commit_shas.append(sha)
            p.updated_at = self.now()
            self.log.append(f"push {p.repo}#{p.number} {sha[:7]} by {who}")
            self._emit(
                webhooks.pull_request_event(
                    self.world, p, "synchronize", who, before=before, after=sha
                )
            )
            return sha

    def edit_pr(
        self, pr: PrRef, *, title: str | None = None, body: str | None = None, by: str | None = None
    ) -> PullRequest:
        """Change title and/or body (→ edited with `changes.*.from`)."""
        with self._op():
            p = self.pr(pr)
            changes: dict[str, Any] = {}
            if title is not None and title != p.title:
                changes["title"] = {"from": p.title}
                p.title = title
            if body is not None and body != p.body:
                changes["body"] = {"from": p.body}
                p.body = body
            p.updated_at = self.now()
            self._emit(
                webhooks.pull_request_event(
                    self.world, p, "edited", by or p.author, changes=changes
                )
            )
            return p

    def review(
        self,
        pr: PrRef,
        user: str,
        state: ReviewState,
        *,
        body: str = "",
        commit_id: str | None = None,
    ) -> Review:
        """Submit a review at the head (or `commit_id`) (→ pull_request_review.submitted)."""
        with self._op():
            p = self.pr(pr)
            if state not in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED"}:
                raise SimError(422, "review state must be APPROVED, CHANGES_REQUESTED or COMMENTED")
            if state != "COMMENTED" and user.lower() == p.author.lower():
                raise SimError(422, "Can not approve or request changes on your own pull request")
            commit = commit_id or p.head_sha
            if commit not in p.commit_shas:
                raise SimError(422, f"commit {commit} is not part of {p.repo}#{p.number}")
            login = self._ensure_user(user).login
            r = Review(
                self.world.new_id(), p.repo, p.number, login, state, commit, self.now(), body
            )
            self.world.reviews[r.id] = r
            p.requested_reviewers = [x for x in p.requested_reviewers if x.lower() != user.lower()]
            self.log.append(f"review {p.repo}#{p.number} {state} by {login}")
            self._emit(webhooks.review_event(self.world, r, "submitted", login))
            return r

    def dismiss_review(self, review_id: int, *, by: str, message: str = "Dismissed") -> Review:
        """Dismiss an approval or change request (→ pull_request_review.dismissed)."""
        with self._op():
            r = self.world.reviews.get(review_id)
            if r is None:
                raise SimError(404, f"no review {review_id}")
            if r.state not in {"APPROVED", "CHANGES_REQUESTED"}:
                raise SimError(422, f"Can not dismiss a {r.state.lower()} pull request review")
            r.state = "DISMISSED"
            self.log.append(f"dismiss_review {r.repo}#{r.number} {r.id} by {by}: {message}")
            self._emit(webhooks.review_event(self.world, r, "dismissed", by))
            return r

    def reviews_of(self, pr: PrRef) -> list[Review]:
        p = self.pr(pr)
        return [r for r in self.world.reviews.values() if (r.repo, r.number) == (p.repo, p.number)]

    def merge(
        self,
        pr: PrRef,
        *,
        by: str,
        admin: bool = False,
        method: Literal["merge", "squash", "rebase"] = "merge",
        sha: str | None = None,
        via_api: bool = False,
    ) -> str:
        """Merge (→ closed, merged=true). Branch protection: every required check must pass on
        the head, else SimError(405) — unless `admin`, which bypasses and is recorded."""
        with self._op(via_api=via_api):
            p = self.pr(pr)
            r = self._repo(p.repo)
            if p.state != "open":
                raise SimError(405, "Pull Request is not mergeable")
            if p.draft:
                raise SimError(405, "Pull Request is still a draft")
            if sha is not None and sha != p.head_sha:
                raise SimError(409, "Head branch was modified. Review and try the merge again.")
            failing = self.failing_required_checks(p)
            if failing and not admin:
                raise SimError(405, failing[0])
            tip = r.branches[p.base_ref]
            if method == "rebase":
                commit = self._rebase(p, r, tip, by)
            else:
                merged_tree = _merge_trees(r, p.base_sha, tip, p.head_sha)
                parents = [tip, p.head_sha] if method == "merge" else [tip]
                message = (
                    f"Merge pull request #{p.number} from {r.owner}/{p.head_ref}\n\n{p.title}"
                    if method == "merge"
                    else f"{p.title} (#{p.number})"
                )
                commit = self._commit(r, parents, {}, message, by, tree=merged_tree)
            r.branches[p.base_ref] = commit
            now = self.now()
            p.state, p.merged, p.merged_by = "closed", True, self._ensure_user(by).login
            p.merged_at = p.closed_at = p.updated_at = now
            p.merge_commit_sha = commit
            p.merge_bypassed = bool(failing)
            note = f" (admin bypass: {failing[0]})" if failing else ""
            self.log.append(f"merge {p.repo}#{p.number} by {by}{note}")
            self._emit(webhooks.pull_request_event(self.world, p, "closed", by))
            self._emit(push_event(self.world, r, p.base_ref, tip, commit, p.merged_by))
            return commit

    def _rebase(self, p: PullRequest, r: Repo, tip: str, by: str) -> str:
        """Replay each of the PR's commits onto `tip`, as GitHub's "Rebase and merge": one new
        commit per PR commit (author kept, `by` the committer), the last one the PR's
        `merge_commit_sha`; each new commit stays associated with the PR."""
        for original in p.commit_shas:
            source = r.commits[original]
            tree = _merge_trees(r, p.base_sha, tip, original)
            tip = self._commit(r, [tip], {}, source.message, source.author, by, tree=tree)
            p.rebased_shas.append(tip)
        return tip

    def close_pr(self, pr: PrRef, *, by: str) -> PullRequest:
        with self._op():
            p = self.pr(pr)
            p.state, p.closed_at, p.updated_at = "closed", self.now(), self.now()
            self._emit(webhooks.pull_request_event(self.world, p, "closed", by))
            return p

    def failing_required_checks(self, pr: PrRef) -> list[str]:
        """GitHub's refusal messages for required checks that do not pass on the head."""
        p = self.pr(pr)
        r = self._repo(p.repo)
        problems = []
        for name in r.required_checks:
            runs = [c for c in self.check_runs_for(p.repo, p.head_sha) if c.name == name]
            latest = max(runs, key=lambda c: c.id) if runs else None
            if latest is None:
                problems.append(f'Required status check "{name}" is expected.')
            elif latest.status != "completed":
                problems.append(f'Required status check "{name}" is in progress.')
            elif latest.conclusion not in PASSING:
                problems.append(f'Required status check "{name}" is failing.')
        return problems

    def request_reviewers(
        self,
        pr: PrRef,
        users: list[str],
        teams: list[str],
        *,
        by: str | None = None,
        via_api: bool = True,
    ) -> PullRequest:
        """POST /requested_reviewers: 422 for the author or strangers (like GitHub)."""
        with self._op(via_api=via_api):
            p = self.pr(pr)
            r = self._repo(p.repo)
            sender = by or self.app_bot()
            for login in users:
                if login.lower() == p.author.lower():
                    raise SimError(422, "Review cannot be requested from pull request author.")
                if self.world.user(login) is None:
                    raise SimError(
                        422,
                        "Reviews may only be requested from collaborators. One or more of the "
                        f"users or teams you specified is not a collaborator of the "
                        f"{r.full_name} repository.",
                    )
            for slug in teams:
                if self.world.team(r.owner, slug) is None:
                    raise SimError(
                        422,
                        f"Reviews may only be requested from collaborators. Team {slug!r} is "
                        f"not a team of {r.owner}.",
                    )
            for login in users:
                user = self.world.user(login)
                assert user is not None
                if user.login in p.requested_reviewers:
                    continue
                p.requested_reviewers.append(user.login)
                self._emit(
                    webhooks.pull_request_event(
                        self.world,
                        p,
                        "review_requested",
                        sender,
                        requested_reviewer=shapes.user(self.world, user.login),
                    )
                )
            for slug in teams:
                team = self.world.team(r.owner, slug)
                assert team is not None
                key = f"{team.org.lower()}/{team.slug.lower()}"
                if key in p.requested_teams:
                    continue
                p.requested_teams.append(key)
                self._emit(
                    webhooks.pull_request_event(
                        self.world,
                        p,
                        "review_requested",
                        sender,
                        requested_team=shapes.team(self.world, team),
                    )
                )
            return p


def _merge_trees(repo: Repo, fork: str, tip: str, head: str) -> dict[str, str]:
    """The base tip with the PR's own changes (fork → head) applied; on conflict the PR wins."""
    fork_tree = repo.commits[fork].tree
    head_tree = repo.commits[head].tree
    merged = dict(repo.commits[tip].tree)
    for path in set(fork_tree) | set(head_tree):
        if fork_tree.get(path) == head_tree.get(path):
            continue
        if path in head_tree:
            merged[path] = head_tree[path]
        else:
            merged.pop(path, None)
    return merged
