"""The fallback analyzer: lines added and removed, for files no other analyzer understands.

Also the shape every unparseable file takes, so a reviewer still sees the size of the edit.
"""

from __future__ import annotations

import difflib
from typing import Any

from app.core.models import Change, FileDiff, Kind, Op

DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".adoc")
MAX_DIFF_LINES = 200_000


def is_docs(path: str) -> bool:
    """Prose files (READMEs, docs/) whose edits change no system behaviour."""
    lower = path.lower()
    return lower.endswith(DOC_SUFFIXES) or lower.startswith("docs/") or "/docs/" in lower


def op_for(file: FileDiff) -> Op:
    if file.status == "added":
        return "create"
    if file.status == "removed":
        return "delete"
    if file.status == "renamed" and file.base == file.head and file.base is not None:
        return "rename"
    return "update"


def count_lines(file: FileDiff) -> tuple[int, int]:
    """(added, removed) lines, from the contents when known, else from the patch."""
    if file.patch is not None and (not file.complete or (file.base is None and file.head is None)):
        added = removed = 0
        for line in file.patch.splitlines():
            if line.startswith("+") and not line.startswith("+++"):
                added += 1
            elif line.startswith("-") and not line.startswith("---"):
                removed += 1
        return added, removed
    base = (file.base or b"").decode("utf-8", "replace").splitlines()
    head = (file.head or b"").decode("utf-8", "replace").splitlines()
    if not base:
        return len(head), 0
    if not head:
        return 0, len(base)
    if len(base) + len(head) > MAX_DIFF_LINES:
        return len(head), len(base)
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, base, head, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag in ("replace", "delete"):
            removed += i2 - i1
        if tag in ("replace", "insert"):
            added += j2 - j1
    return added, removed


def first_changed_line(file: FileDiff) -> int | None:
    base = (file.base or b"").decode("utf-8", "replace").splitlines()
    head = (file.head or b"").decode("utf-8", "replace").splitlines()
    for number, (a, b) in enumerate(zip(base, head, strict=False), start=1):
        if a != b:
            return number
    return min(len(base), len(head)) + 1 if base != head else None


def analyze(file: FileDiff, kind: Kind = "text", **extra_facts: Any) -> list[Change]:
    """One change for the whole file, with line counts; nothing when the bytes are identical."""
    if file.status == "modified" and file.complete and file.base == file.head:
        return []
    added, removed = count_lines(file)
    facts: dict[str, Any] = {"lines_added": added, "lines_removed": removed}
    if is_docs(file.path):
        facts["docs"] = True
    if file.is_binary:
        facts["binary"] = True
        if encrypted(file):
            facts["encrypted"] = True
        facts.setdefault("unparseable", binary_reason(file))
    if not file.complete:
        facts["partial"] = True
    facts.update(extra_facts)
    line = 1 if file.status in ("added", "removed") else first_changed_line(file)
    return [
        Change(
            file=file.path,
            kind=kind,
            address=file.path,
            op=op_for(file),
            facts=facts,
            line=line,
            old_file=file.old_path if file.old_path != file.path else None,
        )
    ]


GIT_CRYPT = b"\x00GITCRYPT\x00"


def encrypted(file: FileDiff) -> bool:
    """A side encrypted by git-crypt (its fixed header): ciphertext, not a broken file."""
    return any(side is not None and side.startswith(GIT_CRYPT) for side in (file.base, file.head))


def binary_reason(file: FileDiff) -> str:
    """Why a binary file was not read: encrypted (say so, and how to review it) or binary."""
    if encrypted(file):
        return "git-crypt encrypted content cannot be reviewed here: review it decrypted"
    return "binary content cannot be reviewed semantically"


def unparseable(file: FileDiff, kind: Kind, reason: str) -> list[Change]:
    """The `text` change of a file its analyzer could not read (`analysis.unparseable`)."""
    changes = analyze(file, unparseable=reason, detected_kind=kind)
    if changes:
        return changes
    # Identical bytes never reach here; keep the marker even if the text diff is empty.
    return [
        Change(
            file=file.path,
            kind="text",
            address=file.path,
            op=op_for(file),
            facts={"unparseable": reason, "detected_kind": kind},
            line=1,
        )
    ]


def file_rename(file: FileDiff, kind: Kind, **extra_facts: Any) -> Change | None:
    """The file-level `rename` change of a renamed file (None when the path did not change)."""
    if file.status != "renamed" or not file.old_path or file.old_path == file.path:
        return None
    return Change(
        file=file.path,
        kind=kind,
        address=file.path,
        op="rename",
        old_file=file.old_path,
        facts={"renamed_from": file.old_path, **extra_facts},
        line=1,
    )
