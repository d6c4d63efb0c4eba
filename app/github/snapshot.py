"""Build a PullRequestSnapshot from the GitHub API with few calls.

PR, files (paginated), commits, reviews, then ONE GraphQL query per 200 blobs for both sides of
every changed file plus the base branch's `.github/countersign.yml` and CODEOWNERS. We never use the
`.diff` media type (GitHub answers 406 above 300 files / 20,000 lines); the files API lists at most
3,000 files, and beyond that the snapshot carries a problem so the check fails closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.github.client import MAX_PR_FILES, Blob, InstallationClient
from app.models import FileDiff, FileStatus
from app.repo_config import CONFIG_PATH
from app.snapshot import Commit, GitIdentity, PullRequestSnapshot, Review
from app.sources.git import CODEOWNERS_PATHS
from app.trailers import co_authors

_STATUS: dict[str, FileStatus] = {
    "added": "added",
    "removed": "removed",
    "modified": "modified",
    "changed": "modified",
    "renamed": "renamed",
    "copied": "added",
    "unchanged": "modified",
}
REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}


def _login(obj: Any) -> str | None:
    return obj.get("login") if isinstance(obj, dict) else None


def _identity(obj: Any) -> GitIdentity | None:
    if not isinstance(obj, dict):
        return None
    return GitIdentity(name=str(obj.get("name") or ""), email=str(obj.get("email") or ""))


def commit_from_api(item: dict[str, Any]) -> Commit:
    """One entry of `GET /pulls/{n}/commits`: linked accounts (null when the e-mail is linked to
    none), the raw git identities and the message's `Co-authored-by:` trailers."""
    git = item.get("commit") or {}
    message = str(git.get("message") or "")
    return Commit(
        sha=item["sha"],
        message=message,
        author_login=_login(item.get("author")),
        committer_login=_login(item.get("committer")),
        author=_identity(git.get("author")),
        committer=_identity(git.get("committer")),
        co_authors=tuple(GitIdentity(name=n, email=e) for n, e in co_authors(message)),
    )


def _side(blob: Blob | None) -> tuple[bytes | None, bool, bool]:
    """(content, complete, binary) for one side."""
    if blob is None or not blob.exists:
        return None, True, False
    if blob.binary:
        return None, True, True
    if blob.truncated:
        return None, False, False
    return blob.data, True, False


def fetch_snapshot(
    client: InstallationClient, repo: str, number: int, *, pr: dict[str, Any] | None = None
) -> PullRequestSnapshot:
    """The snapshot of PR `number`; pass `pr` when its JSON was already fetched."""
    if pr is None:
        pr = client.pull(repo, number)
    head_sha = pr["head"]["sha"]
    base_sha = pr["base"]["sha"]
    raw_files = client.pull_files(repo, number)
    commits = client.pull_commits(repo, number)
    reviews = client.pull_reviews(repo, number)
    problems: list[str] = []
    changed = pr.get("changed_files")
    if len(raw_files) >= MAX_PR_FILES or (isinstance(changed, int) and changed > len(raw_files)):
        problems.append(
            f"this PR changes {changed or len(raw_files)} files; GitHub lists at most "
            f"{MAX_PR_FILES}, so Countersign cannot see the whole change: split the PR"
        )
    specs: list[tuple[str, str]] = [(base_sha, CONFIG_PATH)]
    specs += [(base_sha, p) for p in CODEOWNERS_PATHS]
    for f in raw_files:
        status = _STATUS.get(f.get("status", "modified"), "modified")
        if status != "added":
            specs.append((base_sha, f.get("previous_filename") or f["filename"]))
        if status != "removed":
            specs.append((head_sha, f["filename"]))
    blobs = client.blobs(repo, specs)
    files: list[FileDiff] = []
    for f in raw_files:
        status = _STATUS.get(f.get("status", "modified"), "modified")
        path = f["filename"]
        old = f.get("previous_filename")
        base, base_ok, base_bin = (
            _side(blobs.get((base_sha, old or path))) if status != "added" else (None, True, False)
        )
        head, head_ok, head_bin = (
            _side(blobs.get((head_sha, path))) if status != "removed" else (None, True, False)
        )
        files.append(
            FileDiff(
                path=path,
                old_path=old if status == "renamed" else None,
                status=status,
                base=base,
                head=head,
                patch=f.get("patch"),
                complete=base_ok and head_ok,
                binary=base_bin or head_bin,
            )
        )
    config_blob = blobs.get((base_sha, CONFIG_PATH))
    if config_blob is not None and config_blob.exists and config_blob.data is None:
        # Unreadable config must not silently fall back to defaults (fail closed).
        problems.append(f"{CONFIG_PATH} on the base branch is binary or too large to read")
    codeowners = next(
        (
            blobs[(base_sha, p)].data
            for p in CODEOWNERS_PATHS
            if blobs.get((base_sha, p)) and blobs[(base_sha, p)].data is not None
        ),
        None,
    )
    user = pr.get("user") or {}
    return PullRequestSnapshot(
        repo=repo,
        number=number,
        title=pr.get("title") or "",
        body=pr.get("body") or "",
        author=user.get("login"),
        author_is_bot=user.get("type") == "Bot",
        head_sha=head_sha,
        base_sha=base_sha,
        base_ref=pr["base"].get("ref", "main"),
        head_ref=pr["head"].get("ref") or "",
        commits=tuple(commit_from_api(c) for c in commits),
        files=tuple(files),
        reviews=tuple(
            Review(
                login=r["user"]["login"],
                state=r["state"],
                commit_id=r.get("commit_id"),
                submitted_at=datetime.fromisoformat(r["submitted_at"].replace("Z", "+00:00"))
                if r.get("submitted_at")
                else None,
                is_bot=(r["user"].get("type") == "Bot"),
                id=r.get("id"),
            )
            for r in reviews
            if r.get("user") and r.get("state") in REVIEW_STATES
        ),
        codeowners=codeowners.decode("utf-8", "replace") if codeowners else None,
        config_text=config_blob.data if config_blob and config_blob.exists else None,
        labels=tuple(label.get("name", "") for label in pr.get("labels") or []),
        problems=tuple(problems),
    )
