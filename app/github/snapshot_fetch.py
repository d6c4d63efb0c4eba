"""Build a PullRequestSnapshot from the GitHub API with few calls.

PR, files (paginated), commits, reviews, then ONE GraphQL query per 200 objects for both sides of
every changed file, the base branch's `.github/countersign.yml` and CODEOWNERS, and the head tree of
every Terraform module directory the PR touches (its unchanged `.tf`/`.tf.json` siblings become
`context_files`, so identity is judged on the whole module). We never use the `.diff` media type
(GitHub answers 406 above 300 files / 20,000 lines).

Where GitHub shows less than everything, the snapshot carries a problem so the check fails closed:
more than 3,000 files; a file bigger than the blob cap (GraphQL cuts texts at 512,000 bytes and
bigger ones are read over REST up to `COUNTERSIGN_MAX_BLOB_BYTES`); commits that neither the PR's
list (at most 250) nor the paginated compare of base and head return.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.config.repo import CONFIG_PATH
from app.core.models import FileDiff, FileStatus
from app.core.snapshot import Commit, ContextFile, GitIdentity, PullRequestSnapshot, Review
from app.gate.trailers import co_authors
from app.github.client import MAX_LISTED_PR_COMMITS, MAX_PR_FILES, InstallationClient
from app.github.contents import Blob, TreeEntry
from app.semdiff import is_terraform_module_file, kustomize_context, module_dirs_to_read
from app.sources.git import CODEOWNERS_PATHS

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


def _too_large(path: str, blob: Blob, cap: int) -> str:
    return (
        f"{path} is {blob.size:,} bytes, above the {cap:,}-byte cap "
        "(COUNTERSIGN_MAX_BLOB_BYTES), so Countersign cannot read it in full: raise the cap or "
        "review this file by hand"
    )


def _commits(
    client: InstallationClient, repo: str, number: int, pr: dict[str, Any], problems: list[str]
) -> list[dict[str, Any]]:
    """Every commit of the PR: its list (≤ 250), else the paginated compare of base and head."""
    commits = client.pull_commits(repo, number)
    total = pr.get("commits")
    if not isinstance(total, int) or total <= len(commits):
        return commits
    compared, compare_total = client.compare_commits(repo, pr["base"]["sha"], pr["head"]["sha"])
    if len(compared) >= total and compare_total <= len(compared):
        return compared
    problems.append(
        f"this PR has {total} commits and GitHub listed only "
        f"{max(len(commits), len(compared))} (at most {MAX_LISTED_PR_COMMITS} per PR list), so "
        "Countersign cannot check every commit's author and trailers: split the PR"
    )
    return compared if len(compared) > len(commits) else commits


def _context_files(
    trees: dict[tuple[str, str], list[TreeEntry]],
    changed: set[str],
    cap: int,
    problems: list[str],
) -> tuple[ContextFile, ...]:
    """Unchanged Terraform files of the touched module directories (head side)."""
    out: list[ContextFile] = []
    for (_, _directory), entries in sorted(trees.items()):
        for entry in entries:
            if entry.path in changed or not is_terraform_module_file(entry.path):
                continue
            if entry.blob.too_large:
                problems.append(_too_large(entry.path, entry.blob, cap))
            elif entry.blob.data is not None:
                out.append(ContextFile(path=entry.path, content=entry.blob.data))
    return tuple(out)


def _kustomize_context(
    client: InstallationClient,
    repo: str,
    head_sha: str,
    files: tuple[FileDiff, ...],
    context: tuple[ContextFile, ...],
) -> tuple[ContextFile, ...]:
    """The unchanged files the PR's kustomizations reach, read at head (one batch per round); a
    file too large or unreadable stays unknown."""

    def read(paths: list[str]) -> dict[str, bytes | None]:
        blobs = client.blobs(repo, [(head_sha, path) for path in paths])
        found = {path: blobs.get((head_sha, path)) for path in paths}
        return {p: b.data if b is not None and b.exists else None for p, b in found.items()}

    return kustomize_context(files, context, read)


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
    problems: list[str] = []
    commits = _commits(client, repo, number, pr, problems)
    reviews = client.pull_reviews(repo, number)
    changed = pr.get("changed_files")
    if len(raw_files) >= MAX_PR_FILES or (isinstance(changed, int) and changed > len(raw_files)):
        problems.append(
            f"this PR changes {changed or len(raw_files)} files; GitHub lists at most "
            f"{MAX_PR_FILES}, so Countersign cannot see the whole change: split the PR"
        )
    paths = {f["filename"] for f in raw_files} | {
        f["previous_filename"] for f in raw_files if f.get("previous_filename")
    }
    trees = [(head_sha, d) for d in sorted(module_dirs_to_read(paths))]
    blobs, listings = client.contents(repo, _blob_specs(raw_files, base_sha, head_sha), trees)
    cap = client.app.max_blob_bytes
    for (_, spec_path), blob in sorted(blobs.items()):
        if blob.too_large and spec_path in paths:
            problems.append(_too_large(spec_path, blob, cap))
    context = _context_files(listings, paths, cap, problems)
    files = tuple(_file_diff(f, blobs, base_sha, head_sha) for f in raw_files)
    context += _kustomize_context(client, repo, head_sha, files, context)
    config_blob = blobs.get((base_sha, CONFIG_PATH))
    if config_blob is not None and config_blob.exists and config_blob.data is None:
        # Unreadable config must not silently fall back to defaults (fail closed).
        problems.append(f"{CONFIG_PATH} on the base branch is binary or too large to read")
    codeowners = _codeowners(blobs, base_sha)
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
        files=files,
        context_files=context,
        reviews=tuple(
            _review(r) for r in reviews if r.get("user") and r.get("state") in REVIEW_STATES
        ),
        codeowners=codeowners.decode("utf-8", "replace") if codeowners else None,
        config_text=config_blob.data if config_blob and config_blob.exists else None,
        labels=tuple(label.get("name", "") for label in pr.get("labels") or []),
        problems=tuple(dict.fromkeys(problems)),
    )


def _blob_specs(
    raw_files: list[dict[str, Any]], base_sha: str, head_sha: str
) -> list[tuple[str, str]]:
    """The blobs one query reads: the base's config and CODEOWNERS, then each file's sides."""
    specs: list[tuple[str, str]] = [(base_sha, CONFIG_PATH)]
    specs += [(base_sha, p) for p in CODEOWNERS_PATHS]
    for f in raw_files:
        status = _STATUS.get(f.get("status", "modified"), "modified")
        if status != "added":
            specs.append((base_sha, f.get("previous_filename") or f["filename"]))
        if status != "removed":
            specs.append((head_sha, f["filename"]))
    return specs


def _file_diff(
    f: dict[str, Any], blobs: dict[tuple[str, str], Blob], base_sha: str, head_sha: str
) -> FileDiff:
    """One entry of `GET /pulls/{n}/files` with both sides read (incomplete when one was cut)."""
    status = _STATUS.get(f.get("status", "modified"), "modified")
    path = f["filename"]
    old = f.get("previous_filename")
    base, base_ok, base_bin = (
        _side(blobs.get((base_sha, old or path))) if status != "added" else (None, True, False)
    )
    head, head_ok, head_bin = (
        _side(blobs.get((head_sha, path))) if status != "removed" else (None, True, False)
    )
    return FileDiff(
        path=path,
        old_path=old if status == "renamed" else None,
        status=status,
        base=base,
        head=head,
        patch=f.get("patch"),
        complete=base_ok and head_ok,
        binary=base_bin or head_bin,
    )


def _codeowners(blobs: dict[tuple[str, str], Blob], base_sha: str) -> bytes | None:
    """The base branch's CODEOWNERS: the first of GitHub's locations that has one."""
    return next(
        (
            blobs[(base_sha, p)].data
            for p in CODEOWNERS_PATHS
            if blobs.get((base_sha, p)) and blobs[(base_sha, p)].data is not None
        ),
        None,
    )


def _review(r: dict[str, Any]) -> Review:
    return Review(
        login=r["user"]["login"],
        state=r["state"],
        commit_id=r.get("commit_id"),
        submitted_at=datetime.fromisoformat(r["submitted_at"].replace("Z", "+00:00"))
        if r.get("submitted_at")
        else None,
        is_bot=(r["user"].get("type") == "Bot"),
        id=r.get("id"),
    )
