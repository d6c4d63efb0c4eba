"""Terraform identity over a module directory: which definitions on the two sides are one object.

Terraform loads every `.tf`/`.tf.json` file of a directory as one module, so an object is
identified by its address within the directory, whatever file holds it: a block moved to another
file is the same object (no change if identical, one `update` if edited). `moved` and `removed`
blocks count wherever they sit in the module (often a `migrations.tf` nobody edits in the PR):
`moved` turns a delete + create into a rename, `removed` annotates the delete (with
`destroy = false` Terraform forgets the object instead of destroying it). Literal `count` and
`for_each` expand to instances, so `count = 1 → 0` or a key dropped from a `for_each` map is a
delete of that instance. This module decides identity only; `terraform.py` says what changed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.core.models import Op
from app.semdiff.common.identity import Placed, group, pair
from app.semdiff.common.structure import same
from app.semdiff.terraform.parse import TfFile, TfObject

__all__ = ["Delta", "module_deltas"]

EXPANDED = frozenset({"resource", "module"})
_CALL = re.compile(r"^(module\.[A-Za-z0-9_-]+)(?:\[[^\]]*\])?\.")
_TOSET = re.compile(r"^toset\(\s*(\[.*\])\s*\)$", re.DOTALL)

Key = str | int | None
"""An instance key: None without count/for_each, an int for count, a string for for_each."""


@dataclass(frozen=True, slots=True)
class Delta:
    """One change of identity: an object (or one instance of it) created, updated, deleted or
    renamed, with the definitions on each side and identity facts (from/to, removed, instance)."""

    op: Op
    address: str
    before: Placed[TfObject] | None
    after: Placed[TfObject] | None
    facts: dict[str, Any] = field(default_factory=dict)
    compare: bool = True
    """False when the two sides cannot be compared (moved into a child module)."""

    @property
    def file(self) -> str:
        placed = self.after or self.before
        assert placed is not None
        return placed.file

    @property
    def old_file(self) -> str | None:
        """The base file when it is not the file the change is reported on."""
        if self.before is None or self.before.path == self.file:
            return None
        return self.before.path

    @property
    def line(self) -> int:
        placed = self.after or self.before
        assert placed is not None
        return placed.obj.line


def module_deltas(base: Sequence[Placed[TfFile]], head: Sequence[Placed[TfFile]]) -> list[Delta]:
    """Every identity change between the two sides of one module directory."""
    before, after = _definitions(base), _definitions(head)
    out: list[Delta] = []
    gone: dict[str, Placed[TfObject]] = {}
    new: dict[str, Placed[TfObject]] = {}
    instances: list[tuple[Placed[TfObject], Placed[TfObject]]] = []
    for address in [*before, *(a for a in after if a not in before)]:
        pairing = pair(before.get(address, []), after.get(address, []), _same)
        for b, h in pairing.matched:
            if not _same(b.obj, h.obj):
                out.append(Delta("update", address, b, h))
            if b.obj.block_type in EXPANDED:
                instances.append((b, h))
        if pairing.only_base and address not in after:
            gone[address] = pairing.only_base[0]
        # A second head definition of an existing address is invalid Terraform: show it as new.
        for h in pairing.only_head:
            if address in before:
                out.append(Delta("create", address, None, h))
            else:
                new.setdefault(address, h)
    gone_instances, new_instances, silent = _instance_changes(instances)
    moved = _moves(after)
    calls = {a for a, ds in after.items() if ds[0].obj.block_type == "module"}
    heads = {**{a: (h, {}) for a, h in new.items()}, **new_instances}
    kept = {a for a in after if a in before and a not in heads}
    renames = _renames(moved, {*gone, *gone_instances}, set(heads) | kept, calls)
    targets = set(renames.values())
    consumed = _moves_used(after, renames)
    compared: set[str] = set()
    for source, target in renames.items():
        b = gone[source] if source in gone else gone_instances[source][0]
        into: Placed[TfObject] | None = heads[target][0] if target in heads else None
        facts: dict[str, Any] = {"from": source, "to": target}
        if target in kept:
            # Moved onto an object that exists on both sides (two variants merged into one):
            # the object is kept, not destroyed; the target's own edits are its update.
            into, facts["into_existing"] = after[target][0], True
        elif into is None:
            facts["into_module"] = _call_of(target)
        instance = source in gone_instances or target in new_instances
        compare = target in heads and not instance and target not in compared
        compared.add(target)
        out.append(Delta("rename", target, b, into, facts, compare=compare))
    removed = _removed(after)
    for address, b in gone.items():
        if address in renames:
            continue
        facts = {}
        block = removed.get(address)
        if block is not None:
            consumed.add(block.obj.address)
            facts = {"removed_block": True, "destroy": _destroys(block.obj)}
        out.append(Delta("delete", address, b, None, facts))
    for address, h in new.items():
        if address not in targets and h.obj.address not in consumed:
            out.append(Delta("create", address, None, h))
    for address, (b, facts) in gone_instances.items():
        if address not in renames:
            out.append(Delta("delete", address, b, None, facts))
    for address, (h, facts) in new_instances.items():
        if address not in targets and address not in silent:
            out.append(Delta("create", address, None, h, facts))
    return out


def _definitions(files: Sequence[Placed[TfFile]]) -> dict[str, list[Placed[TfObject]]]:
    """Definitions by address; `terraform` blocks of several files merge, as Terraform does."""
    out = group(
        (obj.address, Placed(obj, f.slot, f.path, f.file))
        for f in files
        for obj in f.obj.objects.values()
    )
    settings = out.get("terraform", [])
    if len(settings) > 1:
        first = settings[0]
        body: dict[str, Any] = {}
        for placed in settings:
            body.update(placed.obj.body)
        merged = TfObject(first.obj.address, "terraform", (), body, first.obj.line)
        out["terraform"] = [Placed(merged, first.slot, first.path, first.file)]
    return out


def _same(a: TfObject, b: TfObject) -> bool:
    return a.block_type == b.block_type and same(a.body, b.body)


def _moves(after: dict[str, list[Placed[TfObject]]]) -> dict[str, str]:
    """`from` → `to` of every `moved` block in the head module."""
    out: dict[str, str] = {}
    for definitions in after.values():
        body = definitions[0].obj.body
        if definitions[0].obj.block_type == "moved" and body.get("from") and body.get("to"):
            out[written_address(body["from"])] = written_address(body["to"])
    return out


def _moves_used(after: dict[str, list[Placed[TfObject]]], renames: dict[str, str]) -> set[str]:
    """Addresses of the `moved` blocks a rename went through: they are part of that rename."""
    targets = set(renames.values())
    return {
        ds[0].obj.address
        for ds in after.values()
        if ds[0].obj.block_type == "moved"
        and (
            written_address(ds[0].obj.body.get("from")) in renames
            or written_address(ds[0].obj.body.get("to")) in targets
        )
    }


def _removed(after: dict[str, list[Placed[TfObject]]]) -> dict[str, Placed[TfObject]]:
    """`removed` blocks of the head module by the address they remove."""
    return {
        written_address(ds[0].obj.body.get("from")): ds[0]
        for ds in after.values()
        if ds[0].obj.block_type == "removed" and ds[0].obj.body.get("from")
    }


def _destroys(block: TfObject) -> Any:
    lifecycle = block.body.get("lifecycle")
    return lifecycle.get("destroy", True) if isinstance(lifecycle, dict) else True


def written_address(value: Any) -> str:
    """An address as written in a moved/removed block, without spaces (`a[ "x" ]` → `a["x"]`)."""
    text = str(value)
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    return re.sub(r"\s+", "", text)


def _call_of(address: str) -> str | None:
    match = _CALL.match(address)
    return match.group(1) if match else None


def _renames(
    moves: dict[str, str], gone: set[str], new: set[str], calls: set[str]
) -> dict[str, str]:
    """base address → head address, for objects a chain of `moved` blocks carries over.

    A target inside a module call of the head module (`module.web.aws_instance.this`) is a move
    into that child module: its definition is not in this directory, so it cannot be compared.
    Several sources may move onto one target (variants merged into one resource); only the first
    is compared with it.
    """
    out: dict[str, str] = {}
    for source in moves:
        if source not in gone:
            continue
        target, seen = moves[source], {source}
        while target in moves and target not in new and target not in seen:
            seen.add(target)
            target = moves[target]
        into_child = _call_of(target) in calls
        if target in new or into_child:
            out[source] = target
    return out


# -- instances -------------------------------------------------------------------------------


def _instance_changes(
    pairs: list[tuple[Placed[TfObject], Placed[TfObject]]],
) -> tuple[
    dict[str, tuple[Placed[TfObject], dict[str, Any]]],
    dict[str, tuple[Placed[TfObject], dict[str, Any]]],
    set[str],
]:
    """Instances deleted and created when literal `count`/`for_each` change on one object.

    `count` only reports deletes: growing a count is the update's `count_before/after`, so its
    new instances are `silent` (kept only as targets of `moved` blocks); keys of a literal
    `for_each` report both. Terraform moves `x` to `x[0]` (and back) by itself when
    `count` is added or removed.
    """
    gone: dict[str, tuple[Placed[TfObject], dict[str, Any]]] = {}
    new: dict[str, tuple[Placed[TfObject], dict[str, Any]]] = {}
    silent: set[str] = set()
    for b, h in pairs:
        keys_b, keys_h = _instance_keys(b.obj), _instance_keys(h.obj)
        if keys_b is None or keys_h is None or keys_b == keys_h:
            continue
        counted = "count" in b.obj.body or "count" in h.obj.body
        for_each = "for_each" in b.obj.body or "for_each" in h.obj.body
        if None in keys_b and 0 in keys_h:
            keys_b = (keys_b - {None}) | {0}
        if None in keys_h and 0 in keys_b:
            keys_h = (keys_h - {None}) | {0}
        facts = {
            "count_before": b.obj.body.get("count"),
            "count_after": h.obj.body.get("count"),
        }
        for key in sorted(keys_b - keys_h, key=repr):
            gone[_instance(b.obj.address, key)] = (b, {**facts, "instance_key": key})
        for key in sorted(keys_h - keys_b, key=repr):
            address = _instance(h.obj.address, key)
            new[address] = (h, {"instance_key": key})
            if counted or not for_each:
                silent.add(address)
    return gone, new, silent


def _instance(address: str, key: Key) -> str:
    if key is None:
        return address
    if isinstance(key, int):
        return f"{address}[{key}]"
    return f"{address}[{json.dumps(key)}]"


def _instance_keys(obj: TfObject) -> set[Key] | None:
    """The instances a block declares, or None when its count/for_each is not a literal."""
    count, each = obj.body.get("count"), obj.body.get("for_each")
    if count is None and each is None:
        return {None}
    if count is not None and each is None:
        if isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= 1000:
            return set(range(count))
        return None
    if each is not None and count is None:
        keys = _literal_keys(each)
        return None if keys is None else set(keys)
    return None


def _literal_keys(value: Any) -> list[str] | None:
    """Keys of a literal map or set (`{ a = … }`, `toset(["a", "b"])`); None for expressions."""
    if isinstance(value, str):
        text = value[2:-1] if value.startswith("${") and value.endswith("}") else value
        match = _TOSET.match(text.strip())
        if match is None:
            return None
        try:
            value = json.loads(match.group(1))
        except ValueError:
            return None
    if isinstance(value, dict):
        keys = list(value)
    elif isinstance(value, list):
        keys = value
    else:
        return None
    if not all(isinstance(k, str) and "${" not in k for k in keys):
        return None
    return [str(k) for k in keys]
