"""Build a PullRequestSnapshot from a local git repository (`countersign analyze --repo`).

Both sides come from git objects (never the working tree), renames are detected by git, and the
repo config and CODEOWNERS are read at the base revision, exactly as the App reads the base branch.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from app.config.repo import CONFIG_PATH
from app.core.errors import UsageError
from app.core.models import FileDiff, FileStatus
from app.core.snapshot import Commit, ContextFile, GitIdentity, PullRequestSnapshot
from app.gate.trailers import co_authors
from app.semdiff import (
    is_terraform_module_file,
    kustomize_context,
    module_dir,
    module_dirs_to_read,
)

CODEOWNERS_PATHS = (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS")
_NOREPLY = re.compile(r"^(?:\d+\+)?([A-Za-z0-9-]+(?:\[bot\])?)@users\.noreply\.github\.com$")
MAX_BLOB_BYTES = 64 * 1024 * 1024


class GitRepo:
    """Thin, read-only access to one repository through the git CLI."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not (path / ".git").exists() and not (path / "HEAD").exists():
            raise UsageError(f"{path} is not a git repository", hint="pass --repo DIR of a clone")

    def run(self, *args: str, input_bytes: bytes | None = None) -> bytes:
        proc = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=input_bytes,
            capture_output=True,
            check=False,
        )
        if proc.returncode != 0:
            msg = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise UsageError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else 'error'}")
        return proc.stdout

    def resolve(self, rev: str) -> str:
        if rev.startswith("-"):
            raise UsageError(f"revision {rev!r} may not start with '-'")
        try:
            return (
                self.run("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").decode().strip()
            )
        except UsageError:
            raise UsageError(
                f"unknown revision {rev!r}", hint="check `git log` in the repository"
            ) from None

    def blobs(self, specs: list[str]) -> dict[str, bytes | None]:
        """Read many `rev:path` objects with one `git cat-file --batch` (None when missing)."""
        if not specs:
            return {}
        out = self.run("cat-file", "--batch", input_bytes="".join(f"{s}\n" for s in specs).encode())
        result: dict[str, bytes | None] = {}
        pos = 0
        for spec in specs:
            end = out.index(b"\n", pos)
            header = out[pos:end].decode("utf-8", "replace")
            pos = end + 1
            if header.endswith(" missing") or header.endswith(" ambiguous"):
                result[spec] = None
                continue
            size = int(header.rsplit(" ", 1)[1])
            result[spec] = out[pos : pos + size] if size <= MAX_BLOB_BYTES else None
            pos += size + 1
        return result

    def module_files(self, rev: str, directories: set[str]) -> dict[str, str]:
        """Terraform module files (`.tf`, `.tf.json`) directly in `directories` at `rev`: path →
        blob id, with one `git ls-tree` (subfolders are other modules)."""
        if not directories:
            return {}
        specs = sorted(f"{d}/" if d else "." for d in directories)
        raw = self.run("--literal-pathspecs", "ls-tree", "-z", rev, "--", *specs)
        out: dict[str, str] = {}
        for entry in raw.decode("utf-8", "surrogateescape").split("\0"):
            if not entry:
                continue
            meta, path = entry.split("\t", 1)
            _mode, kind, oid = meta.split(" ")
            if (
                kind == "blob"
                and is_terraform_module_file(path)
                and module_dir(path) in directories
            ):
                out[path] = oid
        return out

    def changed_files(self, base: str, head: str) -> list[tuple[FileStatus, str, str | None]]:
        raw = self.run("diff", "--name-status", "-z", "-M", "--no-ext-diff", base, head)
        parts = raw.decode("utf-8", "surrogateescape").split("\0")
        out: list[tuple[FileStatus, str, str | None]] = []
        i = 0
        while i < len(parts) and parts[i]:
            code = parts[i][0]
            if code == "R":
                out.append(("renamed", parts[i + 2], parts[i + 1]))
                i += 3
            elif code == "C":
                out.append(("added", parts[i + 2], None))
                i += 3
            else:
                status: FileStatus = {"A": "added", "D": "removed"}.get(code, "modified")  # type: ignore[assignment]
                out.append((status, parts[i + 1], None))
                i += 2
        return out

    def github_name(self) -> str | None:
        """`owner/name` from the `origin` remote, for policy decisions on the right repository."""
        try:
            url = self.run("remote", "get-url", "origin").decode().strip()
        except UsageError:
            return None
        match = _REMOTE.search(url)
        return match.group(1) if match else None

    def commits(self, base: str, head: str) -> list[Commit]:
        fmt = "%H%x00%an%x00%ae%x00%cn%x00%ce%x00%B%x1e"
        raw = self.run("log", f"--format={fmt}", f"{base}..{head}").decode("utf-8", "replace")
        out = []
        for record in raw.split("\x1e"):
            record = record.strip("\n")
            if not record:
                continue
            sha, a_name, a_email, c_name, c_email, message = record.split("\0", 5)
            out.append(
                Commit(
                    sha=sha,
                    message=message,
                    author_login=login_from_email(a_email),
                    committer_login=login_from_email(c_email),
                    author=GitIdentity(name=a_name, email=a_email),
                    committer=GitIdentity(name=c_name, email=c_email),
                    co_authors=tuple(GitIdentity(name=n, email=e) for n, e in co_authors(message)),
                )
            )
        return out


_REMOTE = re.compile(r"[:/]([^/:]+/[^/]+?)(?:\.git)?/?$")


def login_from_email(email: str) -> str | None:
    """GitHub logins are recoverable from noreply addresses (`123+infra-bot[bot]@users…`)."""
    match = _NOREPLY.match(email.strip())
    return match.group(1) if match else None


def snapshot_from_git(
    repo_dir: Path, base: str, head: str, *, author: str | None = None, repo_name: str | None = None
) -> PullRequestSnapshot:
    """Everything `analyze` needs, from git alone."""
    git = GitRepo(repo_dir)
    base_sha, head_sha = git.resolve(base), git.resolve(head)
    changed = git.changed_files(base_sha, head_sha)
    specs: list[str] = []
    for _status, path, old in changed:
        specs += [f"{base_sha}:{old or path}", f"{head_sha}:{path}"]
    specs += [f"{base_sha}:{CONFIG_PATH}"] + [f"{base_sha}:{p}" for p in CODEOWNERS_PATHS]
    blobs = git.blobs(specs)
    files = []
    for status, path, old in changed:
        files.append(
            FileDiff(
                path=path,
                old_path=old,
                status=status,
                base=None if status == "added" else blobs[f"{base_sha}:{old or path}"],
                head=None if status == "removed" else blobs[f"{head_sha}:{path}"],
            )
        )
    context = _context_files(git, head_sha, changed)
    context += _kustomize_context(git, head_sha, files, context)
    codeowners = next(
        (blobs[f"{base_sha}:{p}"] for p in CODEOWNERS_PATHS if blobs[f"{base_sha}:{p}"]), None
    )
    commits = git.commits(base_sha, head_sha)
    if author is None and commits:
        author = commits[-1].author_login
    return PullRequestSnapshot(
        repo=repo_name or git.github_name() or repo_dir.resolve().name,
        author=author,
        author_is_bot=bool(author and author.endswith("[bot]")),
        head_sha=head_sha,
        base_sha=base_sha,
        commits=tuple(commits),
        linked_accounts=False,
        files=tuple(files),
        context_files=context,
        codeowners=codeowners.decode("utf-8", "replace") if codeowners else None,
        config_text=blobs[f"{base_sha}:{CONFIG_PATH}"],
    )


def _kustomize_context(
    git: GitRepo, head_sha: str, files: list[FileDiff], context: tuple[ContextFile, ...]
) -> tuple[ContextFile, ...]:
    """The unchanged files the PR's kustomizations reach, read at head (an unchanged file is the
    same on both sides)."""

    def read(paths: list[str]) -> dict[str, bytes | None]:
        blobs = git.blobs([f"{head_sha}:{path}" for path in paths])
        return {path: blobs[f"{head_sha}:{path}"] for path in paths}

    return kustomize_context(files, context, read)


def _context_files(
    git: GitRepo, head_sha: str, changed: list[tuple[FileStatus, str, str | None]]
) -> tuple[ContextFile, ...]:
    """The unchanged Terraform files of every module directory the change touches, at head."""
    paths = {p for _status, path, old in changed for p in (path, old) if p}
    listed = git.module_files(head_sha, module_dirs_to_read(paths))
    unchanged = {path: oid for path, oid in sorted(listed.items()) if path not in paths}
    blobs = git.blobs(list(unchanged.values()))
    return tuple(
        ContextFile(path=path, content=content)
        for path, oid in unchanged.items()
        if (content := blobs[oid]) is not None
    )
