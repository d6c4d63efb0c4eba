"""What the rest of the PR says about a Kubernetes delete or a kustomize removal (#24).

A delete read from one file can be something else once the whole PR is seen:

- `chart_removed`: a template of a Helm chart whose `Chart.yaml` the PR deletes. The chart leaves
  the repository (grafana moved out of grafana/helm-charts); no release running it changes.
- `kustomize_patch`: the file is a patch a kustomization of the PR applies (`patches`,
  `patchesStrategicMerge`), not an object: dropping it deletes nothing (kubeflow's lws bump).
- `still_listed`: a resource removed from one kustomization is listed by a kustomization of the
  head (the same file, or the file it was renamed to): it moved between overlays.
- `objects_moved`: a resource file the PR deletes or renames whose objects are all still
  declared in the head (no object of it is deleted): the objects moved, the entry followed.
- `dissolved`: the removed entry is a kustomization folder the PR deletes or moves, and that
  kustomization listed resources: they are judged one by one (still listed elsewhere, or leaving
  for real), so the parent's removal adds nothing. A deleted component that only patches (Pod
  Security labels) has no entries of its own to judge, so its removal stays.
- `nothing_lasting`: the removed entry is a file the PR deletes whose objects were all hooks,
  `generateName` objects or Flux sources (a chart source deletes no workload).
- `still_built`: every object the removed entry built is still built by the same kustomization
  in the head, through its other entries, read over the PR and its context files (`graph`): a
  directory moved beside it, a base it now uses instead.
- `namespace_twin` (on a delete): the object is declared again without a namespace in a file
  the PR adds to a kustomization whose `namespace:` is the deleted object's: the same object.
- `namespace_unchanged` (on a `namespace` a kustomization gains): every namespaced object it
  builds already sits in that namespace, so nothing moves.

Each is a fact the delete rules read; nothing is dropped here.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from typing import Any

from app.core.errors import UnparseableError
from app.core.models import Change, FileDiff
from app.core.snapshot import ContextFile
from app.semdiff.kubernetes.graph import Tree, namespace_twin, namespace_unchanged, still_built
from app.semdiff.kubernetes.kustomize import entries, read_side
from app.semdiff.kubernetes.tooling import KUSTOMIZATION_NAMES as NAMES
from app.semdiff.kubernetes.tooling import is_kustomization_path

__all__ = ["annotate"]

LISTS = ("resources", "bases", "components")
PATCHES = ("patches", "patchesStrategicMerge")


class _Kustomizations:
    """Resources each head kustomization lists and patch files any side applies (resolved)."""

    def __init__(self, files: Sequence[FileDiff]) -> None:
        self.listed: set[str] = set()
        self.patches: set[str] = set()
        self.listing: set[str] = set()
        """Folders whose base-side kustomization lists resources (judged entry by entry)."""
        for file in files:
            for path, data, head in (
                (file.old_path or file.path, file.base, False),
                (file.path, file.head, True),
            ):
                if data is not None and is_kustomization_path(path):
                    self._read(path, data, head)

    def _read(self, path: str, data: bytes, head: bool) -> None:
        try:
            found, _ = read_side(data, path, entries)
        except (UnparseableError, RecursionError):
            return
        folder = posixpath.dirname(path)
        for (section, _key), value in found.items():
            target = value.get("path") if isinstance(value, dict) else value
            if not isinstance(target, str) or "://" in target or "\n" in target:
                continue
            if section in PATCHES:
                self.patches.add(resolve(folder, target))
            elif head and section in LISTS:
                self.listed.add(resolve(folder, target))
            elif section in LISTS:
                self.listing.add(folder)


def resolve(folder: str, entry: str) -> str:
    """A kustomization entry as a repository path (`../base` from `apps/prod` → `apps/base`)."""
    return posixpath.normpath(posixpath.join(folder, entry.rstrip("/")))


def _chart_of(path: str) -> str | None:
    head, sep, _ = path.partition("/templates/")
    return head if sep else None


def annotate(
    changes: Sequence[Change], files: Sequence[FileDiff], context: Sequence[ContextFile] = ()
) -> list[Change]:
    """`changes` with the PR-wide facts above added to Kubernetes deletes and kustomize removals."""
    deletes = [c for c in changes if c.kind == "kubernetes" and c.op == "delete"]
    removals = [c for c in changes if _removal(c)]
    namespaces = [c for c in changes if _namespace_added(c)]
    if not deletes and not removals and not namespaces:
        return list(changes)
    tree = Tree(files, context)
    namespace_ids = {id(c) for c in namespaces}
    removed = {f.old_path or f.path for f in files if f.head is None}
    renamed = {f.old_path: f.path for f in files if f.old_path and f.old_path != f.path}
    old_paths = {new: old for old, new in renamed.items()}
    kustomizations = _Kustomizations(files)
    unreadable = {c.file for c in changes if c.unparseable}
    lost = {p for c in deletes for p in (c.file, c.old_file) if p}
    delete_ids = {id(c) for c in deletes}
    created = [(c.file, c.address) for c in changes if c.kind == "kubernetes" and c.op == "create"]
    out: list[Change] = []
    for change in changes:
        extra: dict[str, Any] = {}
        if id(change) in delete_ids:
            chart = _chart_of(change.file)
            if chart is not None and f"{chart}/Chart.yaml" in removed:
                extra["chart_removed"] = chart
            if change.file in kustomizations.patches:
                extra["kustomize_patch"] = True
            if namespace_twin(tree, change.address, created):
                extra["namespace_twin"] = True
        elif _removal(change):
            # A renamed kustomization's removed entries are relative to where it was.
            folder = posixpath.dirname(old_paths.get(change.file, change.file))
            target = resolve(folder, str(change.facts.get("entry")))
            moved_to = renamed.get(target, target)
            if target in kustomizations.listed or moved_to in kustomizations.listed:
                extra["still_listed"] = True
            elif target in kustomizations.listing and any(
                f"{target}/{name}" in removed or f"{target}/{name}" in renamed for name in NAMES
            ):
                extra["dissolved"] = True
            elif target in removed and _only_transient(deletes, target):
                extra["nothing_lasting"] = True
            elif (target in removed or target in renamed) and not (
                target in lost or target in unreadable or moved_to in unreadable
            ):
                extra["objects_moved"] = True
            elif "://" not in str(change.facts.get("entry")) and still_built(
                tree, change.file, target, old_paths.get(change.file)
            ):
                extra["still_built"] = True
        elif id(change) in namespace_ids:
            after = change.fields[0].after if change.fields else None
            if namespace_unchanged(tree, change.file, after):
                extra["namespace_unchanged"] = True
        out.append(
            change.model_copy(update={"facts": {**change.facts, **extra}}) if extra else change
        )
    return out


def _namespace_added(change: Change) -> bool:
    return (
        change.kind == "data"
        and change.op == "create"
        and change.facts.get("format") == "kustomize"
        and change.facts.get("section") == "namespace"
        and change.facts.get("kustomization") == "changed"
    )


def _removal(change: Change) -> bool:
    return (
        change.kind == "data"
        and change.op == "delete"
        and change.facts.get("format") == "kustomize"
        and change.facts.get("section") in LISTS
        and isinstance(change.facts.get("entry"), str)
    )


SOURCE_KINDS = frozenset(
    {"HelmRepository", "GitRepository", "OCIRepository", "HelmChart", "Bucket"}
)


def _transient(change: Change) -> bool:
    """A delete that removes nothing lasting: a sync hook, a `generateName` object, a Flux source
    (the same exemptions `k8s.delete` makes)."""
    facts = change.facts
    source = facts.get("object_kind") in SOURCE_KINDS and str(
        facts.get("api_version", "")
    ).startswith("source.toolkit.fluxcd.io/")
    return bool(facts.get("hook") or facts.get("generated_name") or source)


def _only_transient(deletes: Sequence[Change], path: str) -> bool:
    """The deleted file held objects, and every one of them was transient."""
    own = [c for c in deletes if path in (c.file, c.old_file)]
    return bool(own) and all(_transient(c) for c in own)
