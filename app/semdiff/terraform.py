"""The Terraform analyzer: which resources, modules, variables… a change creates, updates,
deletes or renames, with field-level before/after values that risk rules can read.

Objects are compared by address across the whole file, so moving blocks around is not a change;
a `moved` block in head turns a delete + create pair into one `rename`. Created and deleted
objects list every attribute as a field (the other side None) because rules such as
"deleting a database without a final snapshot" read the deleted object's values. Secrets never
leave this module: secret-named attributes, `sensitive` variables and outputs, and secret-named
locals and tfvars are redacted before any FieldChange is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.models import Change, FieldChange, FileDiff, Op
from app.redact import is_secret_name
from app.repo_config import PathRule
from app.semdiff.structure import LIST_KEYS, diff_values, same
from app.semdiff.terraform_parse import EMPTY, TfFile, TfObject, flavor_of, parse_side, unwrap

__all__ = ["analyze", "diff_files"]


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """Changes between the two sides of one `.tf`, `.tf.json` or `.tfvars` file."""
    del rule  # Terraform needs no per-path settings; `environment` is added by the dispatcher.
    flavor = flavor_of(file.path)
    base = EMPTY if file.base is None else parse_side(file.base, flavor, file.old_path or file.path)
    head = EMPTY if file.head is None else parse_side(file.head, flavor, file.path)
    return diff_files(file.path, base, head)


def diff_files(path: str, base: TfFile, head: TfFile) -> list[Change]:
    """Create/update/delete by address, and renames declared by `moved` blocks in head."""
    renames = _renames(base, head)
    renamed_to = {target: source for source, target in renames.items()}
    consumed = {f"moved.{source}" for source in renames}
    consumed |= {
        obj.address
        for obj in head.objects.values()
        if obj.block_type == "moved" and obj.body.get("to") in renamed_to
    }
    # A `removed` block annotates the delete it belongs to (facts `removed_block`, `destroy`).
    consumed |= {
        f"removed.{address}"
        for address in base.objects
        if address not in head.objects and f"removed.{address}" in head.objects
    }
    out: list[Change] = []
    for address, after in head.objects.items():
        if address in consumed:
            continue
        before = base.objects.get(address)
        if address in renamed_to:
            before = base.objects[renamed_to[address]]
            out.append(_change(path, before, after, "rename", head))
        elif before is None:
            out.append(_change(path, None, after, "create", head))
        elif fields := _fields(before, after):
            out.append(_change(path, before, after, "update", head, fields))
    for address, before in base.objects.items():
        if address in head.objects or address in renames or address in consumed:
            continue
        out.append(_change(path, before, None, "delete", head))
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out


def _renames(base: TfFile, head: TfFile) -> dict[str, str]:
    """base address → head address, for objects a chain of `moved` blocks carries over."""
    moves = {
        str(o.body.get("from")): str(o.body.get("to"))
        for o in head.objects.values()
        if o.block_type == "moved" and o.body.get("from") and o.body.get("to")
    }
    out: dict[str, str] = {}
    for source in moves:
        if source not in base.objects or source in head.objects:
            continue
        target, seen = moves[source], {source}
        while target in moves and target not in head.objects and target not in seen:
            seen.add(target)
            target = moves[target]
        if target in head.objects and target not in base.objects:
            out[source] = target
    return out


def _change(
    path: str,
    before: TfObject | None,
    after: TfObject | None,
    op: Op,
    head: TfFile,
    fields: list[FieldChange] | None = None,
) -> Change:
    current = after or before
    assert current is not None
    if fields is None:
        fields = _fields(before, after)
    facts = _facts(before, after, op)
    if op == "rename" and before is not None and after is not None:
        facts.update({"from": before.address, "to": after.address})
    if op == "delete":
        removed = head.objects.get(f"removed.{current.address}")
        if removed is not None:
            lifecycle = removed.body.get("lifecycle")
            destroy = lifecycle.get("destroy", True) if isinstance(lifecycle, dict) else True
            facts.update({"removed_block": True, "destroy": destroy})
    return Change(
        file=path,
        kind="terraform",
        address=current.address,
        op=op,
        fields=tuple(fields),
        facts=facts,
        line=current.line,
    )


def _secret_keys(obj: TfObject | None) -> dict[str, bool]:
    """Top-level keys whose values are secret for this object (beyond secret-looking names):
    True when the value is hidden whatever it is (`sensitive`), False when only a literal is
    (a secret-named variable's default may be `var.x` or `null`, which a reviewer should see)."""
    if obj is None:
        return {}
    name = obj.labels[0] if obj.labels else ""
    sensitive = obj.body.get("sensitive") is True
    named = is_secret_name(name)
    if obj.block_type == "variable" and (sensitive or named):
        return {"default": sensitive}
    if obj.block_type == "output" and (sensitive or named):
        return {"value": sensitive}
    if obj.block_type in ("locals", "tfvars") and named:
        return {"value": False}
    return {}


def _fields(before: TfObject | None, after: TfObject | None) -> list[FieldChange]:
    b_keys, a_keys = _secret_keys(before), _secret_keys(after)
    secret = {k: b_keys.get(k, False) or a_keys.get(k, False) for k in {*b_keys, *a_keys}}
    b = before.body if before is not None else None
    a = after.body if after is not None else None
    return _diff(b, a, "", secret)


def _diff(before: Any, after: Any, path: str, secret_keys: dict[str, bool]) -> list[FieldChange]:
    """Like `diff_values`, but a dict present on one side only is listed leaf by leaf, so a
    created `versioning { enabled = true }` reads `versioning.enabled` as an update would."""
    one_sided_dict = (before is None and isinstance(after, dict)) or (
        after is None and isinstance(before, dict)
    )
    both_dicts = isinstance(before, dict) and isinstance(after, dict)
    if not (one_sided_dict or both_dicts):
        return diff_values(before, after, path, list_key=block_list_key)
    b: dict[str, Any] = before if isinstance(before, dict) else {}
    a: dict[str, Any] = after if isinstance(after, dict) else {}
    if one_sided_dict and not (a or b):
        return [FieldChange(path=path, before=before, after=after)]
    out: list[FieldChange] = []
    for key in sorted(set(b) | set(a)):
        sub = f"{path}.{key}" if path else key
        if secret_keys.get(key):
            out.extend(diff_values(b.get(key), a.get(key), sub, secret=True))
        elif key in secret_keys or is_secret_name(key):
            out.extend(diff_values(b.get(key), a.get(key), sub, named=True))
        else:
            out.extend(_diff(b.get(key), a.get(key), sub, {}))
    return out


def block_list_key(_path: str, items: Sequence[Any]) -> str | None:
    """The first of LIST_KEYS that every item has as a scalar, e.g. `setting[InstanceType]`.

    `diff_values` passes both sides' items together and then checks uniqueness per side, so
    this checks presence only (structure.default_list_key also demands uniqueness across both
    sides, which fails whenever a key exists before and after).
    """
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for field in LIST_KEYS:
        values = [i.get(field) for i in items]
        if all(isinstance(v, str | int) and not isinstance(v, bool) for v in values):
            return field
    return None


def _get(obj: TfObject | None, *keys: str) -> Any:
    value: Any = obj.body if obj is not None else None
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _facts(before: TfObject | None, after: TfObject | None, op: str) -> dict[str, Any]:
    current = after or before
    assert current is not None
    facts: dict[str, Any] = {"block_type": current.block_type}
    kind = current.block_type
    if kind in ("resource", "data"):
        facts["resource_type"] = current.labels[0]
    if kind == "module":
        for key in ("source", "version"):
            b, a = _get(before, key), _get(after, key)
            facts[f"module_{key}"] = a if after is not None else b
            facts[f"module_{key}_before"] = b
            facts[f"module_{key}_after"] = a
    if kind == "provider":
        facts["provider"] = current.labels[0]
        alias = _get(current, "alias")
        if alias is not None:
            facts["alias"] = alias
    if kind in ("variable", "output"):
        if _get(before, "sensitive") is True or _get(after, "sensitive") is True:
            facts["sensitive"] = True
        if before is not None and after is not None:
            facts["sensitive_before"] = _get(before, "sensitive") is True
            facts["sensitive_after"] = _get(after, "sensitive") is True
    if kind == "terraform":
        facts["backend_before"] = _backend(before)
        facts["backend_after"] = _backend(after)
    if kind in ("moved", "removed", "import"):
        for key in ("from", "to"):
            if _get(current, key) is not None:
                facts[key] = unwrap(_get(current, key))
    _meta_facts(facts, before, after, op)
    return facts


def _meta_facts(
    facts: dict[str, Any], before: TfObject | None, after: TfObject | None, op: str
) -> None:
    """count / for_each / lifecycle, which change how many objects exist or may be destroyed."""
    count_b, count_a = _get(before, "count"), _get(after, "count")
    if count_b is not None or count_a is not None:
        facts["count_before"] = count_b
        facts["count_after"] = count_a
    each_b, each_a = _get(before, "for_each"), _get(after, "for_each")
    if each_b is not None or each_a is not None:
        facts["for_each"] = True
        if op in ("update", "rename") and not same(each_b, each_a):
            facts["for_each_changed"] = True
    guard_b = _get(before, "lifecycle", "prevent_destroy")
    guard_a = _get(after, "lifecycle", "prevent_destroy")
    if guard_b is not None or guard_a is not None:
        facts["prevent_destroy_before"] = guard_b
        facts["prevent_destroy_after"] = guard_a


def _backend(obj: TfObject | None) -> str | None:
    backend = _get(obj, "backend")
    if isinstance(backend, dict) and backend:
        return ",".join(sorted(str(k) for k in backend))
    return None
