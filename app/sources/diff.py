"""Build FileDiffs from a unified diff alone (`countersign analyze --diff`, `POST /api/analyze`).

New and deleted files are complete (their whole content is in the hunks); modified files are known
only through their hunks, so they are marked incomplete and analysed at the level the hunks allow.
"""

from __future__ import annotations

from unidiff.errors import UnidiffParseError
from unidiff.patch import PatchSet

from app.core.errors import UsageError
from app.core.models import FileDiff

MAX_DIFF_BYTES = 25 * 1024 * 1024


def _strip(path: str | None) -> str | None:
    if path is None or path == "/dev/null":
        return None
    return path[2:] if path[:2] in ("a/", "b/") else path


def _side(patched: object, marker: str) -> bytes:
    lines: list[str] = []
    for hunk in patched:  # type: ignore[attr-defined]
        for line in hunk:
            if line.line_type in (marker, " "):
                lines.append(line.value)
    return "".join(lines).encode("utf-8")


def files_from_diff(
    text: str, contents: dict[str, tuple[bytes | None, bytes | None]] | None = None
) -> list[FileDiff]:
    """Parse a unified diff; `contents` may supply (base, head) bytes per path to complete it."""
    if len(text.encode("utf-8", "replace")) > MAX_DIFF_BYTES:
        raise UsageError(f"diff larger than {MAX_DIFF_BYTES:,} bytes")
    try:
        patch = PatchSet(text)
    except UnidiffParseError as exc:
        raise UsageError(f"not a unified diff: {exc}", hint="produce it with `git diff`") from exc
    if not patch and text.strip():
        raise UsageError("no file changes found in the diff", hint="produce it with `git diff`")
    contents = contents or {}
    files: list[FileDiff] = []
    for pf in patch:
        source, target = _strip(pf.source_file), _strip(pf.target_file)
        path = target or source or pf.path
        given = contents.get(path)
        if pf.is_added_file:
            head = given[1] if given and given[1] is not None else _side(pf, "+")
            files.append(FileDiff(path=path, status="added", head=head, patch=str(pf)))
        elif pf.is_removed_file:
            base = given[0] if given and given[0] is not None else _side(pf, "-")
            files.append(FileDiff(path=path, status="removed", base=base, patch=str(pf)))
        else:
            renamed = pf.is_rename or (
                source is not None and target is not None and source != target
            )
            complete = bool(given and given[0] is not None and given[1] is not None)
            files.append(
                FileDiff(
                    path=path,
                    old_path=source if renamed else None,
                    status="renamed" if renamed else "modified",
                    base=given[0] if complete and given else None,
                    head=given[1] if complete and given else None,
                    patch=str(pf),
                    complete=complete,
                    binary=pf.is_binary_file,
                )
            )
    return files
