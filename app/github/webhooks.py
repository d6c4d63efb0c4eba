"""Webhook verification and the few payload fields we read, with lenient models.

githubkit's `webhooks.parse` rejects real payloads (docs/adr/0007-lenient-github-reads.md), so we verify the HMAC
ourselves in constant time over the raw bytes and read only the fields we need.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from app.core.errors import SignatureInvalid

HANDLED_EVENTS = frozenset(
    {
        "pull_request",
        "pull_request_review",
        "check_run",
        "check_suite",
        "installation",
        "installation_repositories",
        "merge_group",
        "deployment_protection_rule",
        "issue_comment",
        "ping",
        "push",  # a base moved: Terraform plans made against it may be stale
    }
)


def verify_signature(secret: str, body: bytes, header: str | None) -> None:
    """Raise SignatureInvalid unless `header` is `sha256=<hex HMAC of body>` (constant time)."""
    if not header or not header.startswith("sha256="):
        raise SignatureInvalid("missing or non-SHA-256 X-Hub-Signature-256 header")
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), header.strip().encode()):
        raise SignatureInvalid("X-Hub-Signature-256 does not match the body")


def parse_external_id(value: str) -> tuple[str, int, str] | None:
    """(repo, PR number, head SHA) from our check run's `external_id` `owner/repo#N@sha`."""
    repo, sep, rest = value.partition("#")
    number, sep2, sha = rest.partition("@")
    if not sep or not sep2 or not number.isdigit() or repo.count("/") != 1:
        return None
    return repo, int(number), sha


_GROUP_REF = re.compile(
    r"^(?:refs/heads/)?gh-readonly-queue/(?P<base>.+)/pr-(?P<n>\d+)-(?P<sha>[0-9a-f]{7,64})$"
)


def queued_pull(head_ref: str) -> tuple[int, str] | None:
    """(PR number, queued head SHA) named by a merge group's read-only ref, or None."""
    match = _GROUP_REF.match(head_ref)
    return (int(match.group("n")), match.group("sha")) if match else None


def sign(secret: str, body: bytes) -> str:
    """The header value GitHub would send for `body` (used by the simulator and tests)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Account(Lenient):
    login: str = ""
    type: str = "User"


class RepoRef(Lenient):
    full_name: str
    id: int | None = None


class Installation(Lenient):
    id: int


class BranchRef(Lenient):
    sha: str
    ref: str = ""


class PullRequestRef(Lenient):
    number: int
    head: BranchRef | None = None
    base: BranchRef | None = None
    merged: bool | None = None
    merged_by: Account | None = None
    merged_at: str | None = None
    merge_commit_sha: str | None = None
    user: Account | None = None
    title: str = ""
    body: str | None = None
    html_url: str = ""
    state: str = "open"


class ReviewRef(Lenient):
    id: int | None = None
    user: Account | None = None
    state: str = ""
    commit_id: str | None = None
    submitted_at: str | None = None


class CheckRunApp(Lenient):
    id: int | None = None


class CheckRunRef(Lenient):
    id: int
    name: str = ""
    head_sha: str = ""
    app: CheckRunApp | None = None
    external_id: str | None = None
    pull_requests: list[PullRequestRef] = []


class CheckSuiteRef(Lenient):
    id: int
    head_sha: str = ""
    pull_requests: list[PullRequestRef] = []


class MergeGroupRef(Lenient):
    """A merge queue's group: the commit GitHub waits on (`head_sha`) and where it comes from."""

    head_sha: str
    head_ref: str = ""
    base_sha: str = ""
    base_ref: str = ""


class LabelRef(Lenient):
    name: str = ""


class IssuePullLink(Lenient):
    """Present on an issue that is a pull request."""

    url: str = ""


class IssueRef(Lenient):
    """The issue of an `issue_comment` event (a PR's conversation when `pull_request` is set)."""

    number: int
    state: str = "open"
    pull_request: IssuePullLink | None = None


class CommentRef(Lenient):
    id: int | None = None
    body: str = ""
    user: Account | None = None


class RequestedAction(Lenient):
    identifier: str = ""


class WebhookPayload(Lenient):
    """The union of fields we read across the events we handle."""

    action: str | None = None
    installation: Installation | None = None
    repository: RepoRef | None = None
    sender: Account | None = None
    pull_request: PullRequestRef | None = None
    review: ReviewRef | None = None
    check_run: CheckRunRef | None = None
    check_suite: CheckSuiteRef | None = None
    requested_action: RequestedAction | None = None
    merge_group: MergeGroupRef | None = None
    label: LabelRef | None = None
    issue: IssueRef | None = None
    comment: CommentRef | None = None
    changes: dict[str, Any] | None = None
    number: int | None = None

    def pr_numbers(self) -> list[int]:
        """PRs this event is about (check suites can name several).

        GitHub sends check events of fork PRs with `pull_requests: []`: our own check run then
        names its PR in `external_id`; a merge group names its PR in its read-only ref.
        """
        if self.pull_request is not None:
            return [self.pull_request.number]
        if self.check_run is not None:
            if self.check_run.pull_requests:
                return [p.number for p in self.check_run.pull_requests]
            ref = parse_external_id(self.check_run.external_id or "")
            repo = self.repository.full_name.lower() if self.repository else None
            return [ref[1]] if ref is not None and ref[0].lower() == repo else []
        if self.check_suite is not None:
            return [p.number for p in self.check_suite.pull_requests]
        if self.merge_group is not None:
            queued = queued_pull(self.merge_group.head_ref)
            return [queued[0]] if queued else []
        if self.issue is not None:
            return [self.issue.number] if self.issue.pull_request is not None else []
        return [self.number] if self.number else []

    def head_sha(self) -> str | None:
        if self.pull_request is not None and self.pull_request.head is not None:
            return self.pull_request.head.sha
        if self.check_run is not None:
            return self.check_run.head_sha or None
        if self.check_suite is not None:
            return self.check_suite.head_sha or None
        if self.merge_group is not None:
            return self.merge_group.head_sha or None
        return None


def parse_payload(data: Any) -> WebhookPayload:
    """Lenient read of a decoded JSON payload; missing fields are None, never an exception."""
    if not isinstance(data, dict):
        return WebhookPayload()
    try:
        return WebhookPayload.model_validate(data)
    except ValueError:
        # A field we read has an unexpected shape: keep what we can, drop the rest.
        safe: dict[str, Any] = {}
        for key in ("action", "number"):
            if key in data:
                safe[key] = data[key]
        for key in WebhookPayload.model_fields:
            if key in safe or key not in data:
                continue
            try:
                WebhookPayload.model_validate({key: data[key]})
            except ValueError:
                continue
            safe[key] = data[key]
        try:
            return WebhookPayload.model_validate(safe)
        except ValueError:
            return WebhookPayload()
