"""The simulator's records: GitHub objects as plain dataclasses, plus the ids of a tiny content-addressed git
(trees and diffs in `app.sim.gittree`).

Everything a test can observe lives here, so the REST shapes (`shapes.py`), the webhook payloads
(`webhooks.py`) and the operations (`simulator.py`) agree on one source of truth. Blob SHAs are
real git blob SHAs (so a product that hashes content agrees with us); tree and commit SHAs are
deterministic hashes of their content, not git's exact encoding.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

UserType = Literal["User", "Bot", "Organization"]
ReviewState = Literal["APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED"]
FileStatus = Literal["added", "removed", "modified", "renamed"]
Changes = dict[str, bytes | None]
"""Path → new content, or None to delete the file."""


class SimError(Exception):
    """An operation GitHub would refuse; `status` is the HTTP answer the API gives for it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def blob_sha(data: bytes) -> str:
    """Git's blob id: sha1 over `blob <size>\\0<data>`."""
    return hashlib.sha1(b"blob %d\x00" % len(data) + data, usedforsecurity=False).hexdigest()


def iso(moment: datetime) -> str:
    """GitHub's timestamp format, second precision, `Z` suffix."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class User:
    login: str
    id: int
    type: UserType = "User"
    name: str | None = None
    email: str | None = None
    site_admin: bool = False
    created_at: datetime | None = None


@dataclass
class Team:
    org: str
    slug: str
    id: int
    name: str
    members: dict[str, Literal["member", "maintainer"]] = field(default_factory=dict)
    description: str | None = None
    pending: set[str] = field(default_factory=set)
    """Invited, not yet accepted: GitHub answers their membership with `state: pending` and
    leaves them out of the team's member list."""


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None


@dataclass
class GitCommit:
    sha: str
    tree: dict[str, str]
    """Path → blob SHA: the full tree of the repository at this commit."""
    parents: list[str]
    message: str
    author: str
    committer: str
    date: datetime

    @property
    def tree_sha(self) -> str:
        listing = "\n".join(f"{path} {sha}" for path, sha in sorted(self.tree.items()))
        return hashlib.sha1(listing.encode(), usedforsecurity=False).hexdigest()


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    created_at: datetime
    default_branch: str = "main"
    private: bool = True
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, GitCommit] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    required_checks: tuple[str, ...] = ("countersign",)
    admins: set[str] = field(default_factory=set)
    fork_parent: str | None = None
    """Full name of the parent repository when this is a fork."""

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    def read(self, sha: str, path: str) -> bytes | None:
        """File content at a commit, or None when the commit or the path does not exist."""
        commit = self.commits.get(sha)
        if commit is None or path not in commit.tree:
            return None
        return self.blobs[commit.tree[path]]

    def resolve(self, ref: str) -> str | None:
        """A commit SHA for a branch name, `refs/heads/x`, or a (full) SHA."""
        name = ref.removeprefix("refs/heads/")
        if name in self.branches:
            return self.branches[name]
        return ref if ref in self.commits else None


@dataclass
class FileChange:
    """One entry of a PR's file list, as GitHub's `DiffEntry` describes it."""

    filename: str
    status: FileStatus
    sha: str | None
    additions: int
    deletions: int
    patch: str | None
    previous_filename: str | None = None


@dataclass
class PullRequest:
    id: int
    number: int
    repo: str
    title: str
    body: str | None
    author: str
    base_ref: str
    head_ref: str
    base_sha: str
    head_sha: str
    created_at: datetime
    updated_at: datetime
    state: Literal["open", "closed"] = "open"
    draft: bool = False
    merged: bool = False
    merged_by: str | None = None
    merged_at: datetime | None = None
    merge_commit_sha: str | None = None
    closed_at: datetime | None = None
    merge_bypassed: bool = False
    """Set when an admin merged while a required check was not `success` (simulator record)."""
    labels: list[str] = field(default_factory=list)
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)
    commit_shas: list[str] = field(default_factory=list)
    rebased_shas: list[str] = field(default_factory=list)
    """The commits a "Rebase and merge" wrote on the base branch, oldest first."""
    head_repo: str | None = None
    """Full name of the fork holding the head branch; None when it is in the base repository."""
    issue_id: int | None = None
    """The id of the PR's issue (its conversation), allocated when first shown."""


@dataclass
class Review:
    id: int
    repo: str
    number: int
    user: str
    state: ReviewState
    commit_id: str
    submitted_at: datetime
    body: str = ""


@dataclass
class IssueComment:
    """A comment on a PR's conversation (GitHub keeps these on the PR's issue)."""

    id: int
    repo: str
    number: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass
class IssueEvent:
    """One entry of `GET /issues/{n}/events`: who did what to the issue, and when.

    The simulator records label changes (`labeled` / `unlabeled`), the entries a GitHub App reads
    to learn who added a label."""

    id: int
    repo: str
    number: int
    event: Literal["labeled", "unlabeled"]
    actor: str
    created_at: datetime
    label: str


@dataclass
class CheckRun:
    id: int
    repo: str
    head_sha: str
    name: str
    app_id: int
    check_suite_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    title: str | None = None
    summary: str | None = None
    text: str | None = None
    annotations: list[dict[str, object]] = field(default_factory=list)
    actions: list[dict[str, str]] = field(default_factory=list)
    details_url: str | None = None
    external_id: str | None = None


@dataclass
class Installation:
    id: int
    account: str
    created_at: datetime
    repositories: list[str] | None = None
    """Full names of the selected repositories; None means all of the account's repositories."""
    suspended: bool = False
    permissions: dict[str, str] = field(default_factory=dict)
    """What this installation granted (the App's permissions when it was installed)."""


@dataclass
class AppIdentity:
    id: int
    slug: str
    name: str
    owner: str
    public_key_pem: str
    webhook_url: str | None
    webhook_secret: str
    created_at: datetime
    events: tuple[str, ...] = (
        "check_run",
        "check_suite",
        "pull_request",
        "pull_request_review",
    )
    permissions: dict[str, str] = field(default_factory=dict)
    """What the App asks for (app.yml's `default_permissions` unless a test says otherwise)."""
    client_secret: str = field(default_factory=lambda: secrets.token_hex(20))
    callback_urls: tuple[str, ...] = ()
    """The App's user-authorization callback URLs (GitHub allows up to 10)."""
    """The OAuth client secret of the App's user-authorization flow (`client_id` is derived)."""

    @property
    def client_id(self) -> str:
        """GitHub Apps' OAuth client id (`Iv1.` and 16 hex digits; also in GET /app)."""
        return f"Iv1.{self.id:016x}"


@dataclass
class OAuthCode:
    """A code handed out by `/login/oauth/authorize`: valid 10 minutes, exchanged once."""

    client_id: str
    login: str
    redirect_uri: str
    created_at: datetime


@dataclass(frozen=True)
class OtherApp:
    """Another integration that writes check runs (GitHub Actions, a CI App) on the same heads."""

    id: int
    slug: str
    name: str


@dataclass
class World:
    """Every record the simulator holds; guarded by the Simulator's lock."""

    web_url: str = "http://github.localhost"
    app: AppIdentity | None = None
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[tuple[str, str], Team] = field(default_factory=dict)
    repos: dict[str, Repo] = field(default_factory=dict)
    pulls: dict[tuple[str, int], PullRequest] = field(default_factory=dict)
    reviews: dict[int, Review] = field(default_factory=dict)
    comments: dict[int, IssueComment] = field(default_factory=dict)
    issue_events: list[IssueEvent] = field(default_factory=list)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    installations: dict[int, Installation] = field(default_factory=dict)
    other_apps: dict[int, OtherApp] = field(default_factory=dict)
    signed_in: str | None = None
    """The user signed in to the simulated github.com (who `/login/oauth/authorize` consents as)."""
    oauth_codes: dict[str, OAuthCode] = field(default_factory=dict)
    user_tokens: dict[str, str] = field(default_factory=dict)
    """OAuth user access tokens (`ghu_…`) to the login they act for."""
    diff_cache: dict[tuple[int, str, str], list[FileChange]] = field(default_factory=dict)
    """PR file lists by (repo id, base, head): commits are immutable, so entries never go stale."""
    last_id: int = 1000

    @property
    def api_url(self) -> str:
        return f"{self.web_url}/api/v3"

    def new_id(self) -> int:
        self.last_id += 1
        return self.last_id

    def user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def repo(self, full_name: str) -> Repo | None:
        return self.repos.get(full_name.lower())

    def pull(self, full_name: str, number: int) -> PullRequest | None:
        repo = self.repo(full_name)
        return self.pulls.get((repo.full_name, number)) if repo else None

    def team(self, org: str, slug: str) -> Team | None:
        return self.teams.get((org.lower(), slug.lower()))

    def installation_for(self, full_name: str) -> Installation | None:
        """The App's installation that can see this repository, if any."""
        repo = self.repo(full_name)
        if repo is None:
            return None
        for inst in self.installations.values():
            if inst.account.lower() != repo.owner.lower() or inst.suspended:
                continue
            if inst.repositories is None or repo.full_name in inst.repositories:
                return inst
        return None
