"""What a kustomization still builds, read over the PR's files and the unchanged ones beside them.

A removal from a kustomization, or a namespace added to it, can only be judged by what the
kustomization builds in the head, and that is mostly in files the PR does not touch: the
unchanged base a new `bases:` entry points at (argocd-example-apps b4ebe0049d), the unchanged
file a removed entry named (3ef31aef9c: `../guestbook/guestbook-ui-svc.yaml` swapped for the
same Service moved beside the kustomization), the unchanged `rbac.yaml` whose objects already sit
in the namespace the PR adds (flux2-multi-tenancy c49e6be6ad).

The edges read those files in rounds: `wanted` names the unchanged paths still missing, the edge
reads them at head (an unchanged file is the same on both sides) and passes them back as
`ContextFile`s. Whatever stays unread or unparseable makes a build incomplete, and an incomplete
build never clears a finding (fail closed). Objects are known by kind and `metadata.name` as
written (before any namePrefix).
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import UnparseableError
from app.core.models import FileDiff
from app.core.snapshot import ContextFile
from app.semdiff.common.documents import read_documents
from app.semdiff.kubernetes.kustomize import entries, read_side
from app.semdiff.kubernetes.tooling import KUSTOMIZATION_NAMES, is_kustomization_path

__all__ = [
    "CLUSTER_SCOPED",
    "Build",
    "Tree",
    "namespace_twin",
    "namespace_unchanged",
    "still_built",
    "wanted",
]

LISTS = ("resources", "bases", "components")
GENERATING = ("configMapGenerator", "secretGenerator", "helmCharts", "generators")
MAX_DEPTH = 8
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
MAX_WANTED = 200
MAX_PARSED_BYTES = 4_000_000
CLUSTER_SCOPED = frozenset(
    {
        "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
        "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass", "RuntimeClass",
        "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "APIService",
        "CSIDriver", "ClusterIssuer", "ClusterPolicy", "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding", "PodSecurityPolicy",
    }
)  # fmt: skip
_UNKNOWN = object()


@dataclass
class Build:
    """The objects one kustomization (or file) builds: (kind, name, effective namespace)."""

    objects: set[tuple[str, str, str | None]] = field(default_factory=set)
    complete: bool = True

    def names(self) -> set[tuple[str, str]]:
        return {(kind, name) for kind, name, _ns in self.objects}

    def add(self, other: Build, namespace: str | None = None) -> None:
        self.complete = self.complete and other.complete
        for kind, name, ns in other.objects:
            scoped = namespace if namespace and kind not in CLUSTER_SCOPED else ns
            self.objects.add((kind, name, scoped))


class Tree:
    """Both sides of the repository as far as the PR and its context files show them."""

    def __init__(self, files: Sequence[FileDiff], context: Sequence[ContextFile]) -> None:
        self._head: dict[str, bytes | None] = {}
        self._base: dict[str, bytes | None] = {}
        for file in files:
            self._head[file.path] = file.head
            self._base[file.old_path or file.path] = file.base
            if file.old_path and file.old_path != file.path:
                self._head.setdefault(file.old_path, None)
                self._base.setdefault(file.path, None)
        self._unchanged = {c.path: c.content for c in context if c.path not in self._head}
        self.unknown: set[str] = set()
        self._memo: dict[tuple[str, bool, bool], Build] = {}
        self._parsed = 0

    def read(self, path: str, head: bool) -> Any:
        """The bytes of `path` on one side, None when it is absent there, else `_UNKNOWN`."""
        side = self._head if head else self._base
        if path in side:
            return side[path]
        if path in self._unchanged:
            return self._unchanged[path]
        self.unknown.add(path)
        return _UNKNOWN

    def build(self, path: str, head: bool, depth: int = 0, own_namespace: bool = True) -> Build:
        """What the entry at `path` (a manifest file or a kustomization folder) builds (a base
        shared by many overlays is walked once)."""
        key = (path, head, own_namespace)
        if key not in self._memo:
            self._memo[key] = self._build(path, head, depth, own_namespace)
        return self._memo[key]

    def _build(self, path: str, head: bool, depth: int, own_namespace: bool) -> Build:
        if depth > MAX_DEPTH:
            return Build(complete=False)
        if is_kustomization_path(path):
            return self._kustomization(path, head, depth, own_namespace)
        if path.endswith(MANIFEST_SUFFIXES):
            data = self.read(path, head)
            return (
                Build(complete=False)
                if data is None or data is _UNKNOWN
                else self._parse(data, path)
            )
        candidates = [f"{path}/{name}" for name in KUSTOMIZATION_NAMES]
        found = [c for c in candidates if self.read(c, head) not in (None, _UNKNOWN)]
        if found:
            self.unknown.difference_update(candidates)
            return self._kustomization(found[0], head, depth, own_namespace)
        return Build(complete=False)

    def _parse(self, data: bytes, path: str) -> Build:
        """The objects of one manifest, within a budget of bytes read per PR: a walk that would
        parse more (a whole platform's upstream manifests) stays incomplete."""
        self._parsed += len(data)
        return _objects(data, path) if self._parsed <= MAX_PARSED_BYTES else Build(complete=False)

    def _kustomization(self, path: str, head: bool, depth: int, own_namespace: bool) -> Build:
        data = self.read(path, head)
        if data is None or data is _UNKNOWN:
            return Build(complete=False)
        try:
            found, _ = read_side(data, path, entries)
        except (UnparseableError, RecursionError):
            return Build(complete=False)
        out = Build(complete=not any(section in GENERATING for section, _ in found))
        namespace = found.get(("namespace", None)) if own_namespace else None
        folder = posixpath.dirname(path)
        for (section, entry), _value in found.items():
            if section not in LISTS or entry is None:
                continue
            if "://" in entry or entry.startswith(("github.com/", "git@")):
                out.complete = False
                continue
            target = posixpath.normpath(posixpath.join(folder, entry.rstrip("/")))
            child = self.build(target, head, depth + 1)
            out.add(child, namespace if isinstance(namespace, str) else None)
        return out


def _objects(data: bytes, path: str) -> Build:
    objects, complete = _read_objects(data, path)
    return Build(objects=set(objects), complete=complete)


@functools.lru_cache(maxsize=2048)
def _read_objects(data: bytes, path: str) -> tuple[frozenset[tuple[str, str, str | None]], bool]:
    """(kind, name, namespace) of every object of a manifest, and whether all were read; cached,
    as each round of context reading walks the same files again."""
    out = _parse_objects(data, path)
    return frozenset(out.objects), out.complete


def _parse_objects(data: bytes, path: str) -> Build:
    out = Build()
    try:
        docs = read_documents(data, "yaml", path)
    except (UnparseableError, RecursionError):
        return Build(complete=False)
    for doc in docs:
        value = doc.value
        if value is None:
            continue
        meta = value.get("metadata") if isinstance(value, dict) else None
        if not isinstance(value, dict) or not isinstance(meta, dict):
            out.complete = False
            continue
        name = meta.get("name") or meta.get("generateName")
        namespace = meta.get("namespace")
        if not isinstance(value.get("kind"), str) or not isinstance(name, str):
            out.complete = False
            continue
        out.objects.add((value["kind"], name, namespace if isinstance(namespace, str) else None))
    return out


def removed_entries(file: FileDiff) -> tuple[list[str], bool]:
    """The local entries a changed kustomization drops (as repository paths, base side) and
    whether it gains a namespace."""
    if file.base is None or file.head is None:
        return [], False
    try:
        base, _ = read_side(file.base, file.old_path or file.path, entries)
        head, _ = read_side(file.head, file.path, entries)
    except (UnparseableError, RecursionError):
        return [], False
    folder = posixpath.dirname(file.old_path or file.path)
    dropped = [
        posixpath.normpath(posixpath.join(folder, str(entry).rstrip("/")))
        for (section, entry) in base
        if section in LISTS and entry is not None and "://" not in entry
        if (section, entry) not in head
    ]
    return dropped, ("namespace", None) in head and ("namespace", None) not in base


ROUNDS = 6
"""Rounds of reads as the kustomization graph unfolds (each round reads what the last revealed)."""


def gather_context(
    files: Sequence[FileDiff],
    context: Sequence[ContextFile],
    read: Callable[[list[str]], Mapping[str, bytes | None]],
) -> tuple[ContextFile, ...]:
    """The unchanged files the PR's kustomizations reach (bases, removed entries), read at head
    by `read` (path → bytes, None when missing or unreadable) in rounds as the graph unfolds;
    none when the PR removes no kustomize entry. An unread file stays unknown, and an unknown
    file never clears a finding. Both edges (git, GitHub) bring their own `read`."""
    found: list[ContextFile] = []
    asked: set[str] = set()
    for _ in range(ROUNDS):
        want = sorted(wanted(files, (*context, *found)) - asked)
        if not want:
            break
        asked.update(want)
        blobs = read(want)
        found += [
            ContextFile(path=path, content=data)
            for path in want
            if (data := blobs.get(path)) is not None
        ]
    return tuple(found)


def wanted(files: Sequence[FileDiff], context: Sequence[ContextFile]) -> set[str]:
    """Unchanged paths the judgment of this PR's kustomizations still needs (at most 200)."""
    tree = Tree(files, context)
    for file in files:
        if not is_kustomization_path(file.path):
            continue
        dropped, namespaced = removed_entries(file)
        removed = [tree.build(target, head=False) for target in dropped]
        # What the kustomization still builds matters only for a namespace it gains, or for a
        # removed entry that builds objects (or is not read yet): a component that only patches
        # is judged without walking the whole head (kubeflow's example/ reaches ~400 files).
        if namespaced or any(b.objects or not b.complete for b in removed):
            tree.build(file.path, head=True, own_namespace=False)
    return set(sorted(tree.unknown)[:MAX_WANTED])


def still_built(tree: Tree, kustomization: str, target: str, base_path: str | None = None) -> bool:
    """Every object the removed entry built (fully read) is still built by the kustomization,
    by kind, name and namespace (the kustomization's own `namespace:` applied on each side)."""
    child = tree.build(target, head=False)
    if not child.complete or not child.objects:
        return False
    before = Build()
    before.add(child, _namespace(tree, base_path or kustomization, head=False))
    return before.objects <= tree.build(kustomization, head=True).objects


def _namespace(tree: Tree, path: str, head: bool) -> str | None:
    data = tree.read(path, head)
    if data is None or data is _UNKNOWN:
        return None
    try:
        found, _ = read_side(data, path, entries)
    except (UnparseableError, RecursionError):
        return None
    namespace = found.get(("namespace", None))
    return namespace if isinstance(namespace, str) else None


def namespace_unchanged(tree: Tree, kustomization: str, namespace: Any) -> bool:
    """Every namespaced object the kustomization builds (fully read) is already in `namespace`."""
    built = tree.build(kustomization, head=True, own_namespace=False)
    namespaced = [ns for kind, _name, ns in built.objects if kind not in CLUSTER_SCOPED]
    return (
        isinstance(namespace, str)
        and built.complete
        and bool(namespaced)
        and all(ns == namespace for ns in namespaced)
    )


def namespace_twin(tree: Tree, address: str, created: Sequence[tuple[str, str]]) -> bool:
    """The deleted `Kind/ns/name` is declared again, without a namespace, in a file the PR adds
    beside a kustomization that sets `namespace: ns` (kubeflow cf8aac939e: dex's ServiceAccount
    moved from rbac.yaml to serviceaccount.yaml; `auth` comes from the kustomization)."""
    kind, _, rest = address.partition("/")
    namespace, _, name = rest.partition("/")
    if not name or not namespace:
        return False
    for file, created_address in created:
        if created_address != f"{kind}/default/{name}" or not file.endswith(MANIFEST_SUFFIXES):
            continue
        data = tree.read(file, head=True)
        if (
            data is None
            or data is _UNKNOWN
            or (kind, name, None) not in _objects(data, file).objects
        ):
            continue
        folder = posixpath.dirname(file)
        for candidate in (f"{folder}/{n}" if folder else n for n in KUSTOMIZATION_NAMES):
            text = tree.read(candidate, head=True)
            if text is None or text is _UNKNOWN:
                continue
            try:
                found, _ = read_side(text, candidate, entries)
            except (UnparseableError, RecursionError):
                return False
            listed = {
                posixpath.normpath(posixpath.join(folder, str(e))) for s, e in found if s in LISTS
            }
            return found.get(("namespace", None)) == namespace and file in listed
    return False
