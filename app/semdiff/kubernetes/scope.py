"""Kubernetes identity over the whole PR: which definitions on the two sides are one object.

A cluster object is identified by API group, kind, namespace and name, not by the file that
declares it: moving a manifest, converting it from JSON to YAML, or splitting and merging
multi-document files changes nothing in the cluster, so it is no change here. The same object may
be declared in several files (one per overlay or environment folder); definitions in the same
file pair first, then identical ones, then the rest (`identity.pair`).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.core.models import Change
from app.semdiff.common.identity import Placed, group, pair
from app.semdiff.kubernetes.objects import K8sObject, object_change
from app.semdiff.kubernetes.renames import renamed_pairs

__all__ = ["diff_manifests"]


def diff_manifests(
    base: Sequence[Placed[dict[str, K8sObject]]], head: Sequence[Placed[dict[str, K8sObject]]]
) -> list[Change]:
    """Create/update/delete of every object declared on either side of the given manifests."""
    before = group(
        (obj.identity, Placed(obj, f.slot, f.path, f.file)) for f in base for obj in f.obj.values()
    )
    after = group(
        (obj.identity, Placed(obj, f.slot, f.path, f.file)) for f in head for obj in f.obj.values()
    )
    _align_templated_groups(before, after)
    out: list[Change] = []
    gone: list[Placed[K8sObject]] = []
    new: list[Placed[K8sObject]] = []
    for key in [*before, *(k for k in after if k not in before)]:
        pairing = pair(before.get(key, []), after.get(key, []), _same)
        for b, h in pairing.matched:
            old_file = b.path if b.path != h.file else None
            change = object_change(h.file, b.obj, h.obj, "update", old_file=old_file)
            out.extend([change] if change is not None else [])
        gone.extend(pairing.only_base)
        new.extend(pairing.only_head)
    for b, h in renamed_pairs(gone, new):
        gone.remove(b)
        new.remove(h)
        out.append(_rename(b, h))
    for b in gone:
        old_file = b.path if b.path != b.file else None
        change = object_change(b.file, b.obj, None, "delete", old_file=old_file)
        out.extend([change] if change is not None else [])
    for h in new:
        change = object_change(h.file, None, h.obj, "create")
        out.extend([change] if change is not None else [])
    out.sort(key=lambda c: (c.file, c.line or 0, c.address))
    return out


def _rename(b: Placed[K8sObject], h: Placed[K8sObject]) -> Change:
    """One object under a new name (`renames`): its fields as an update, op `rename`."""
    old_file = b.path if b.path != h.file else None
    change = object_change(h.file, b.obj, h.obj, "update", old_file=old_file)
    assert change is not None  # the names differ, so metadata.name is a changed field
    facts = {**change.facts, "renamed_from": b.obj.address}
    return change.model_copy(update={"op": "rename", "facts": facts})


Key = tuple[str, str, str | None, str]


def _align_templated_groups(
    before: dict[Key, list[Placed[K8sObject]]], after: dict[Key, list[Placed[K8sObject]]]
) -> None:
    """An `apiVersion` written as a template action (`{{ $apiVersion }}`, chosen at render time
    from the cluster's capabilities) names no group: such an object is the one of the same kind,
    namespace and name on the other side, when there is exactly one."""
    for side, other in ((after, before), (before, after)):
        for key in [k for k in side if k not in other and _templated(side[k])]:
            twins = [k for k in other if k not in side and k[1:] == key[1:]]
            if len(twins) == 1:
                side[twins[0]] = side.pop(key)


def _templated(definitions: list[Placed[K8sObject]]) -> bool:
    return any("{{" in d.obj.api_version or "{%" in d.obj.api_version for d in definitions)


def _same(a: K8sObject, b: K8sObject) -> bool:
    return a.body == b.body
