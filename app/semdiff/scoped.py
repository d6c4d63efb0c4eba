"""Analysis of the kinds whose identity spans several files: Terraform modules, Kubernetes objects.

The dispatcher hands every changed Terraform module file and Kubernetes manifest here, side by
side; each side is parsed on its own, then objects are matched over the whole scope: the module
directory (with the unchanged sibling files, `ContextFile`) or the whole PR. File-level facts stay
per file: a rename, an added or deleted file without objects, a side that cannot be parsed. A file
that cannot be parsed stays one `analysis.unparseable` change; its unreadable side contributes no
objects, so an object that vanished from a readable file is still reported as deleted even if it
may have moved into the unreadable one (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff, Kind
from app.core.snapshot import ContextFile
from app.semdiff.common import text
from app.semdiff.common.identity import Placed
from app.semdiff.common.scope import is_terraform_module_file, module_dir
from app.semdiff.kubernetes import objects as kubernetes
from app.semdiff.kubernetes.objects import K8sObject
from app.semdiff.kubernetes.scope import diff_manifests
from app.semdiff.terraform import analyzer as terraform
from app.semdiff.terraform.parse import TfFile, flavor_of, parse_side
from app.semdiff.terraform.successor import successor

__all__ = ["ScopedAnalysis", "is_scoped"]


def is_scoped(kind: Kind, file: FileDiff) -> bool:
    """Whether this (one-kind, complete, textual) file is judged over a scope wider than itself."""
    if kind == "kubernetes":
        return True
    paths = [p for p in (file.old_path, file.path) if p]
    return kind == "terraform" and all(is_terraform_module_file(p) for p in paths)


@dataclass
class _Sides:
    base: list[Placed[Any]] = field(default_factory=list)
    head: list[Placed[Any]] = field(default_factory=list)
    files: list[FileDiff] = field(default_factory=list)


class ScopedAnalysis:
    """Collects the sides of scoped files, then diffs every scope at once."""

    def __init__(self, context_files: Sequence[ContextFile] = ()) -> None:
        self._context = context_files
        self._modules: dict[str, _Sides] = {}
        self._manifests = _Sides()
        self._opaque: set[str] = set()
        """Files with a side that could not be read: their own objects are not judged."""
        self._dir_moves: dict[str, set[str]] = {}
        """Module directory → the directories its renamed files went to."""

    def add(self, slot: int, file: FileDiff, kind: Kind) -> list[Change]:
        """Record both sides of a changed file; return its file-level changes."""
        problem: str | None = None
        empty = True
        for side, path, data in (
            ("base", file.old_path or file.path, file.base),
            ("head", file.path, file.head),
        ):
            if data is None:
                continue
            try:
                parsed, count = self._parse(kind, data, path)
            except UnparseableError as exc:
                problem = problem or (exc.message if exc.line is None else str(exc))
                continue
            except (RecursionError, MemoryError):
                problem = problem or "file too deeply nested or too large"
                continue
            empty = empty and count == 0
            sides = self._sides(kind, path)
            sides.files.append(file)
            (sides.base if side == "base" else sides.head).append(
                Placed(parsed, slot, path, file.path)
            )
        if problem is not None:
            if file.base is not None and file.head is not None:
                self._opaque.add(file.path)
            return text.unparseable(file, kind, problem)
        if empty and file.status in ("added", "removed"):
            # An added or deleted file with no objects (empty, comments only) is still a
            # file-level change a reviewer must see.
            return text.analyze(file, kind=kind)
        extra = {"module_dir": module_dir(file.path)} if kind == "terraform" else {}
        rename = text.file_rename(file, kind, **extra)
        if rename is not None and kind == "terraform" and file.old_path:
            moves = self._dir_moves.setdefault(module_dir(file.old_path), set())
            moves.add(module_dir(file.path))
        return [rename] if rename is not None else []

    def changes(self) -> list[Change]:
        """Object changes of every scope; an analyzer bug marks its scope's files unparseable."""
        out: list[Change] = []
        self._join_renamed_directories()
        for directory, sides in sorted(self._modules.items()):
            self._add_context(directory, sides)
            out += _safely("terraform", sides, partial(terraform.diff_module, scope=directory))
        out += _safely("kubernetes", self._manifests, diff_manifests)
        # An unreadable file stays one `unparseable` change: what its readable side held is
        # not reported as deleted or created there (it may be in the side we cannot read).
        # Objects that left it for a readable file are still matched, and objects that vanish
        # from readable files are still deleted even if they might have moved into it.
        return [c for c in out if not (c.file in self._opaque and c.op in ("create", "delete"))]

    def _sides(self, kind: Kind, path: str) -> _Sides:
        if kind == "kubernetes":
            return self._manifests
        return self._modules.setdefault(module_dir(path), _Sides())

    @staticmethod
    def _parse(kind: Kind, data: bytes, path: str) -> tuple[TfFile | dict[str, K8sObject], int]:
        if kind == "kubernetes":
            objects = kubernetes.objects_of(data, path)
            return objects, len(objects)
        parsed = parse_side(data, flavor_of(path), path)
        return parsed, len(parsed.objects)

    def _join_renamed_directories(self) -> None:
        """A module directory renamed in the PR is the same module under its new name.

        When every file left a directory (nothing of it remains in the head) and its renamed
        files all went to one directory, its base side is judged against that directory's head:
        objects still there are not destroyed, and `moved` blocks in the new directory apply.
        """
        remaining = {module_dir(c.path) for c in self._context if is_terraform_module_file(c.path)}
        for old, targets in sorted(self._dir_moves.items()):
            sides = self._modules.get(old)
            new = next(iter(targets)) if len(targets) == 1 else old
            target = self._modules.get(new)
            if sides is None or target is None or new == old or sides.head or old in remaining:
                continue
            target.base.extend(sides.base)
            target.files.extend(sides.files)
            del self._modules[old]
        self._join_successors(remaining)

    def _join_successors(self, remaining: set[str]) -> None:
        """A directory deleted whole whose objects another changed directory carries on (its
        `moved` blocks name them, or it is new and declares most of them): the same module
        under a new name, though git saw no file renames (terraform/successor.py)."""
        candidates = {
            d: (list(s.base), list(s.head), d not in remaining and not s.base)
            for d, s in self._modules.items()
            if s.head
        }
        for old, sides in sorted(self._modules.items()):
            if sides.head or not sides.base or old in remaining:
                continue
            new = successor(sides.base, candidates)
            if new is None:
                continue
            self._modules[new].base.extend(sides.base)
            self._modules[new].files.extend(sides.files)
            sides.base.clear()
            sides.files.clear()

    def _add_context(self, directory: str, sides: _Sides) -> None:
        """The unchanged files of the module: the same definitions on both sides."""
        changed = {p for f in sides.files for p in (f.path, f.old_path) if p}
        for number, context in enumerate(self._context):
            path = context.path
            if path in changed or module_dir(path) != directory:
                continue
            if not is_terraform_module_file(path):
                continue
            try:
                parsed = parse_side(context.content, flavor_of(path), path)
            except (UnparseableError, RecursionError):
                continue  # unknown on both sides: what moved into it is reported as deleted
            placed = Placed(parsed, -1 - number, path, path)
            sides.base.append(placed)
            sides.head.append(placed)


def _safely(
    kind: Kind, sides: _Sides, run: Callable[[list[Placed[Any]], list[Placed[Any]]], list[Change]]
) -> list[Change]:
    """Fail closed: an analyzer bug is an `unparseable` finding on every file of the scope."""
    if not sides.base and not sides.head:
        return []
    try:
        return run(sides.base, sides.head)
    except (RecursionError, MemoryError):
        reason = "file too deeply nested or too large"
    except Exception as exc:
        reason = f"{kind} analyzer failed: {exc!r}"[:300]
    out: list[Change] = []
    for file in {f.path: f for f in sides.files}.values():
        out.extend(text.unparseable(file, kind, reason))
    return out
