"""A stateless object renamed in the PR: one `rename`, not a delete and a create.

kubeflow/manifests c736d93926 renames `Service/kserve/kserve-models-web-app` to
`…-application` with its ServiceAccount: the cluster gets the new object and (with pruning) loses
the old one, but nothing it held is lost. An unmatched base object and an unmatched head object
of the same API group, kind and namespace whose bodies are equal once the old name is written
as the new one are one object renamed. Objects whose deletion loses data (Namespace, volumes,
StatefulSet) stay a delete and a create: `k8s.delete-stateful` must still see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.semdiff.common.identity import Placed
from app.semdiff.kubernetes.objects import K8sObject

__all__ = ["STATEFUL", "renamed_pairs"]

STATEFUL = frozenset({"Namespace", "PersistentVolumeClaim", "PersistentVolume", "StatefulSet"})


def _renamed(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {_renamed(k, old, new): _renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, old, new) for v in value]
    return value


def _same_but_name(before: K8sObject, after: K8sObject) -> bool:
    if (before.api_group, before.kind, before.namespace) != (
        after.api_group,
        after.kind,
        after.namespace,
    ):
        return False
    if before.kind in STATEFUL or before.name == after.name or "{{" in before.name + after.name:
        return False
    # Each side's own name becomes one placeholder, so the test is the same both ways (writing
    # the old name as the new one on the base side alone saw `a` → `h` differently from `h` → `a`:
    # `a` is also a substring of keys such as `data`).
    return bool(
        _renamed(before.body, before.name, _NAME) == _renamed(after.body, after.name, _NAME)
    )


_NAME = "\x00name\x00"
"""Stands for an object's own name while two bodies are compared (no manifest string holds NUL)."""


def renamed_pairs(
    base: Sequence[Placed[K8sObject]], head: Sequence[Placed[K8sObject]]
) -> list[tuple[Placed[K8sObject], Placed[K8sObject]]]:
    """Pairs (base, head) of leftover definitions that are one object under a new name."""
    out: list[tuple[Placed[K8sObject], Placed[K8sObject]]] = []
    free = list(head)
    for b in base:
        partner = next((h for h in free if _same_but_name(b.obj, h.obj)), None)
        if partner is not None:
            out.append((b, partner))
            free.remove(partner)
    return out
