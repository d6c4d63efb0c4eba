"""Which `modules/<name>` directories are a module library's released code, judged from the PR.

A module library (terraform-aws-modules and the like) keeps its submodules in `modules/<name>`
and shows how to call them from `examples/`. Nobody applies `modules/<name>` from the
repository: consumers pin a released version, so removing a resource or a whole submodule
(terraform-aws-iam's v6 removed nine) destroys nothing on merge; a consumer meets it when they
upgrade. Saying "Terraform will destroy it" there is wrong, dropping the finding would be too:
the rule pack reports it as what it is (`library_module`, a medium finding).

Only evidence in the snapshot (the changed files' two sides and the unchanged files read with
them) counts, and anything that hints at a live configuration keeps the full severity:
- an example, wrapper or test fixture must call a `modules/…` directory locally (the PR shows
  the repository is a library);
- no Terraform file declares a `backend` or `cloud` block (an `examples/prod` that does is a
  live root, not an example);
- no Terragrunt or other `.hcl` configuration is in sight (its `source` may apply the module);
- no file outside examples/wrappers/fixtures calls the directory locally (a live root that
  applies it: deleting from it really destroys).
The checks read the text, not the parse tree, so a commented-out caller or backend also keeps
the severity (fail safe).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence

from app.core.models import Change, FileDiff
from app.core.snapshot import ContextFile
from app.semdiff.common.scope import is_terraform_module_file, module_dir
from app.semdiff.terraform.library import library_role

__all__ = ["annotate", "library_modules"]

_LOCAL_SOURCE = re.compile(r'"?\bsource"?\s*[=:]\s*"(\.{1,2}/[^"]*)"')
_BACKEND = re.compile(r'\bbackend\s*"[^"]*"\s*\{|\bcloud\s*\{|"(backend|cloud)"\s*:')
_LOCK_FILE = ".terraform.lock.hcl"


def _texts(files: Sequence[FileDiff], context: Sequence[ContextFile]) -> Iterable[tuple[str, str]]:
    """(path, text) of every side the snapshot holds."""
    for file in files:
        if file.base is not None:
            yield file.old_path or file.path, file.base.decode("utf-8", "replace")
        if file.head is not None:
            yield file.path, file.head.decode("utf-8", "replace")
    for extra in context:
        yield extra.path, extra.content.decode("utf-8", "replace")


def _library_dir(directory: str) -> str | None:
    """`modules/<name>` for a directory at or under it, else None."""
    parts = directory.split("/")
    return "/".join(parts[:2]) if len(parts) >= 2 and parts[0] == "modules" else None


def _targets(path: str, text: str) -> set[str]:
    """The directories this file's local `source`s point at, normalised from the repo root."""
    here = module_dir(path)
    out: set[str] = set()
    for match in _LOCAL_SOURCE.finditer(text):
        out.add(posixpath.normpath(posixpath.join(here, match.group(1).split("?")[0])))
    return out


def library_modules(files: Sequence[FileDiff], context: Sequence[ContextFile]) -> frozenset[str]:
    """The `modules/<name>` directories the snapshot shows to be library code nobody applies."""
    called_by_example = False
    live_callers: set[str] = set()
    for path, text in _texts(files, context):
        hcl = path.endswith(".hcl") and posixpath.basename(path) != _LOCK_FILE
        if hcl:
            return frozenset()  # Terragrunt (or other HCL) may apply any directory
        if not is_terraform_module_file(path):
            continue
        if _BACKEND.search(text):
            return frozenset()  # a live configuration is in the PR's sight, whatever its path
        role = library_role(module_dir(path))
        targets = {t for t in _targets(path, text) if t != module_dir(path)}
        if role is not None:
            called_by_example |= any(_library_dir(t) is not None for t in targets)
            continue
        live_callers |= {d for t in targets if (d := _library_dir(t)) is not None}
    if not called_by_example:
        return frozenset()
    seen = {d for path, _text in _texts(files, context) if (d := _library_dir(module_dir(path)))}
    return frozenset(seen - live_callers)


def annotate(
    changes: Sequence[Change], files: Sequence[FileDiff], context: Sequence[ContextFile]
) -> list[Change]:
    """Mark Terraform deletes in a library's `modules/<name>` with `library_module`."""
    deletes = {
        id(c)
        for c in changes
        if c.kind == "terraform" and c.op == "delete" and "module_dir" in c.facts
    }
    if not deletes:
        return list(changes)
    libraries = library_modules(files, context)
    out: list[Change] = []
    for change in changes:
        directory = _library_dir(str(change.facts.get("module_dir", "")))
        if id(change) in deletes and directory is not None and directory in libraries:
            change = change.model_copy(update={"facts": {**change.facts, "library_module": True}})
        out.append(change)
    return out
