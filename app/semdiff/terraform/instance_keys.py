"""Keys removed from a map of objects that a module call or a `for_each` makes objects from.

Root modules often keep their node groups, buckets or queues as a map of objects in a local
(`eks_managed_node_groups = merge({ default_ng = local.default_ng, … })`) handed to a module
argument or to `for_each`. Terraform makes one set of objects per key, so removing a key
destroys that key's objects (a live node group), though no resource block disappears from the
code. The local's change gets `facts.instance_keys_removed` (the keys whose value was an
object, comma-separated) and `facts.instance_consumers` (who makes objects from it: `module.eks
(eks_managed_node_groups)`, `aws_sqs_queue.q (for_each)`), read by
`terraform.instance-keys-removed`. A map of strings (tags, labels) has no object values and is
never reported. One hop only: a local read through another local is not followed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from app.core.models import Change
from app.semdiff.common.identity import Placed
from app.semdiff.terraform.parse import TfFile, TfObject

__all__ = ["with_removed_instance_keys"]

KEYS_FACT = "instance_keys_removed"
CONSUMERS_FACT = "instance_consumers"
# `key = local.x`, `key = var.x` or `key = {` inside an expression's object literals.
_ENTRY = re.compile(r'(?:^|[{,\s])"?([\w-]+)"?\s*=\s*(\{|(?:local|var)\.[\w-]+)')
_REFERENCE = re.compile(r"^\$\{((?:local|var)\.[\w-]+)\}$")


def with_removed_instance_keys(
    changes: list[Change], base: Sequence[Placed[TfFile]], head: Sequence[Placed[TfFile]]
) -> list[Change]:
    """`changes` with the facts above added to each updated local that lost object keys."""
    before = _objects(base)
    after = _objects(head)
    out: list[Change] = []
    for change in changes:
        old, new = before.get(change.address), after.get(change.address)
        if change.op == "update" and old is not None and new is not None and _is_local(new):
            removed = sorted(_object_keys(old, before) - _object_keys(new, after))
            consumers = sorted(_consumers(change.address, after.values())) if removed else []
            if consumers:
                facts = {
                    **change.facts,
                    KEYS_FACT: ", ".join(removed),
                    CONSUMERS_FACT: ", ".join(consumers),
                }
                change = change.model_copy(update={"facts": facts})
        out.append(change)
    return out


def _objects(files: Sequence[Placed[TfFile]]) -> dict[str, TfObject]:
    return {address: obj for placed in files for address, obj in placed.obj.objects.items()}


def _is_local(obj: TfObject) -> bool:
    return obj.block_type == "locals"


def _object_keys(obj: TfObject, scope: dict[str, TfObject]) -> set[str]:
    """The keys of a local's map whose values are objects (literal or a map-valued local)."""
    value = obj.body.get("value")
    if isinstance(value, dict):
        return {str(k) for k, v in value.items() if _is_object(v, scope)}
    if not isinstance(value, str) or not value.startswith("${"):
        return set()
    return {
        key
        for key, target in _ENTRY.findall(value)
        if target == "{" or _is_object(f"${{{target}}}", scope)
    }


def _is_object(value: Any, scope: dict[str, TfObject]) -> bool:
    if isinstance(value, dict):
        return True
    match = _REFERENCE.match(value) if isinstance(value, str) else None
    if match is None or not match.group(1).startswith("local."):
        return False
    target = scope.get(match.group(1))
    return target is not None and isinstance(target.body.get("value"), dict)


def _consumers(address: str, objects: Any) -> Iterator[str]:
    """Module arguments and `for_each` expressions that read `address` (`local.x`)."""
    reference = re.compile(re.escape(address) + r"(?![\w-])")
    for obj in objects:
        if obj.block_type == "module":
            for name, value in obj.body.items():
                if name not in ("source", "version", "providers") and _mentions(value, reference):
                    yield f"{obj.address} ({name})"
        elif obj.block_type in ("resource", "data"):
            if _mentions(obj.body.get("for_each"), reference):
                yield f"{obj.address} (for_each)"


def _mentions(value: Any, reference: re.Pattern[str]) -> bool:
    if isinstance(value, str):
        return bool(reference.search(value))
    if isinstance(value, dict):
        return any(_mentions(v, reference) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, reference) for v in value)
    return False
