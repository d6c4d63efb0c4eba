"""Where a module directory went when a PR deletes all of it: its successor directory, if any.

A module library's major release often renames directories (`modules/iam-github-oidc-provider`
→ `modules/iam-oidc-provider`) and rewrites the files on the way, so git sees deleted and added
files, not renames. Terraform identifies objects by their address in the calling module, not by
the directory holding the code, so such a rename destroys nothing: the new directory's `moved`
blocks (`moved { from = aws_iam_policy.iam_self_management … }`) say which old addresses it
carries on, and objects declared at the same address are the same objects. This module finds
that directory; `scoped` then judges the old directory's base against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from app.semdiff.common.identity import Placed
from app.semdiff.terraform.module import written_address
from app.semdiff.terraform.parse import TfFile

__all__ = ["successor"]

OBJECTS = frozenset({"resource", "data", "module"})
SHARED = 0.5
"""Without `moved` blocks, a new directory must declare at least this share of the old one's
objects at the same addresses to be its successor."""


def _objects(files: Sequence[Placed[TfFile]]) -> set[str]:
    return {
        address
        for placed in files
        for address, obj in placed.obj.objects.items()
        if obj.block_type in OBJECTS
    }


def _moved_from(files: Sequence[Placed[TfFile]]) -> set[str]:
    """The `from` addresses of the `moved` blocks in these files, without instance keys."""
    out: set[str] = set()
    for placed in files:
        for obj in placed.obj.objects.values():
            if obj.block_type == "moved" and obj.body.get("from"):
                out.add(re.sub(r"\[[^\]]*\]$", "", written_address(obj.body["from"])))
    return out


def successor(
    gone: Sequence[Placed[TfFile]],
    candidates: Mapping[str, tuple[Sequence[Placed[TfFile]], Sequence[Placed[TfFile]], bool]],
) -> str | None:
    """The one directory that carries on the objects of a directory deleted whole, else None.

    `gone` is the deleted directory's base files; `candidates` maps each other changed directory
    to (its changed files' base sides, their head sides, whether the directory is new in the
    PR). A candidate qualifies when its `moved` blocks name objects of the deleted directory
    (moves within its own base aside), or when it is new and declares at least half of them at
    the same addresses. Two qualifying directories are ambiguous: none is chosen, the deletes
    stand.
    """
    old = _objects(gone)
    if not old:
        return None
    found: list[str] = []
    for directory, (base, head, new) in sorted(candidates.items()):
        if not head:
            continue
        if (_moved_from(head) - _objects(base)) & old:
            found.append(directory)
        elif new and len(_objects(head) & old) >= SHARED * len(old):
            found.append(directory)
    return found[0] if len(found) == 1 else None
