"""The simulator's tiny git: apply changes to a tree, and diff two trees as GitHub lists a PR's files.

Patches are GitHub-style (hunks only, no ---/+++ header), binary files have none, and a file whose
content moved unchanged is a rename, as GitHub reports exact-content renames.
"""

from __future__ import annotations

import difflib

from app.sim.state import Changes, FileChange, Repo, blob_sha


def tree_after(tree: dict[str, str], blobs: dict[str, bytes], changes: Changes) -> dict[str, str]:
    """Apply `changes` to a tree, storing new blobs; deleting an absent path is a no-op."""
    new = dict(tree)
    for path, content in changes.items():
        if content is None:
            new.pop(path, None)
        else:
            sha = blob_sha(content)
            blobs[sha] = content
            new[path] = sha
    return new


def _patch(old: bytes, new: bytes) -> tuple[str | None, int, int]:
    """GitHub-style patch (hunks only, no ---/+++ header) and +/- counts; None for binary."""
    if b"\x00" in old or b"\x00" in new:
        return None, 0, 0
    try:
        a = old.decode("utf-8").splitlines()
        b = new.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return None, 0, 0
    lines = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]
    additions = sum(1 for line in lines if line.startswith("+"))
    deletions = sum(1 for line in lines if line.startswith("-"))
    return "\n".join(lines), additions, deletions


def diff_trees(repo: Repo, base_sha: str, head_sha: str) -> list[FileChange]:
    """The PR file list: base tree vs head tree, exact-content renames, sorted by path."""
    base = repo.commits[base_sha].tree
    head = repo.commits[head_sha].tree
    removed = {p: s for p, s in base.items() if p not in head}
    added = {p: s for p, s in head.items() if p not in base}
    out: list[FileChange] = []
    renamed_from: dict[str, str] = {}
    by_sha = {sha: path for path, sha in sorted(removed.items())}
    for path, sha in sorted(added.items()):
        old = by_sha.pop(sha, None)
        if old is not None:
            renamed_from[path] = old
    gone = set(renamed_from.values())
    for path in sorted(set(base) | set(head)):
        if path in gone:
            continue
        old_path = renamed_from.get(path)
        if old_path is not None:
            out.append(
                FileChange(path, "renamed", head[path], 0, 0, "", previous_filename=old_path)
            )
        elif path not in base:
            patch, plus, minus = _patch(b"", repo.blobs[head[path]])
            out.append(FileChange(path, "added", head[path], plus, minus, patch))
        elif path not in head:
            patch, plus, minus = _patch(repo.blobs[base[path]], b"")
            out.append(FileChange(path, "removed", None, plus, minus, patch))
        elif base[path] != head[path]:
            patch, plus, minus = _patch(repo.blobs[base[path]], repo.blobs[head[path]])
            out.append(FileChange(path, "modified", head[path], plus, minus, patch))
    return out
