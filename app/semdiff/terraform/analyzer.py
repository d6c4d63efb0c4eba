"""The Terraform analyzer: which resources, modules, variables… a change creates, updates,
deletes or renames, with field-level before/after values that risk rules can read.

Which definitions are one object is decided over the whole module directory by
`terraform_module` (moves between files, `moved`/`removed` blocks, count/for_each instances);
this module says what changed in each. Created and deleted
objects list every attribute as a field (the other side None) because rules such as
"deleting a database without a final snapshot" read the deleted object's values. Secrets never
leave this module: secret-named attributes, `sensitive` variables and outputs, and secret-named
locals and tfvars are redacted before any FieldChange is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.config.repo import PathRule
from app.core.models import Change, FieldChange, FileDiff
from app.core.redact import is_secret_name
from app.semdiff.common.identity import Placed
from app.semdiff.common.scope import is_terraform_module_file, module_dir
from app.semdiff.common.structure import default_list_key, diff_values, join_path, same
from app.semdiff.terraform.instance_keys import with_removed_instance_keys
from app.semdiff.terraform.library import library_role
from app.semdiff.terraform.module import Delta, module_deltas
from app.semdiff.terraform.parse import (
    EMPTY,
    TfFile,
    TfObject,
    flavor_of,
    parse_side,
    unwrap,
)
from app.semdiff.terraform.principals import open_principal_facts
from app.semdiff.terraform.search_roles import search_access_facts
from app.semdiff.terraform.statements import diff_statements, is_statement_path

__all__ = ["analyze", "diff_files", "diff_module"]


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """Changes between the two sides of one `.tf`, `.tf.json` or `.tfvars` file on its own.

    The dispatcher judges module files over their whole directory (`diff_module`); this is for
    `.tfvars` and for callers that hold one file.
    """
    del rule  # Terraform needs no per-path settings; `environment` is added by the dispatcher.
    base_path = file.old_path or file.path
    base = EMPTY if file.base is None else parse_side(file.base, flavor_of(base_path), base_path)
    head = EMPTY if file.head is None else parse_side(file.head, flavor_of(file.path), file.path)
    return diff_files(file.path, base, head)


def diff_files(path: str, base: TfFile, head: TfFile) -> list[Change]:
    """Create/update/delete by address, and renames declared by `moved` blocks in head."""
    scope = module_dir(path) if is_terraform_module_file(path) else None
    return diff_module([Placed(base, 0, path, path)], [Placed(head, 0, path, path)], scope)


def diff_module(
    base: Sequence[Placed[TfFile]], head: Sequence[Placed[TfFile]], scope: str | None
) -> list[Change]:
    """The changes of a module directory's files, objects matched by address across files.

    `scope` is the module directory (`facts.module_dir`), None for files that are not module
    code (`.tfvars`).
    """
    # A directory that declares where its state lives is a root someone applies, whatever its
    # path says: it never gets a `library_role` (an `examples/prod` with a backend is live).
    live = _declares_state(base) or _declares_state(head)
    out = [_change(delta, scope, live) for delta in module_deltas(base, head)]
    out = with_removed_instance_keys(out, base, head)
    out = [c for c in out if c.op != "update" or c.fields]  # a move alone is no change
    out.sort(key=lambda c: (c.file, c.line or 0, c.address))
    return out


def _declares_state(files: Sequence[Placed[TfFile]]) -> bool:
    """Whether a `terraform` block of these files declares a `backend` or `cloud`."""
    for placed in files:
        settings = placed.obj.objects.get("terraform")
        if settings is not None and ("backend" in settings.body or "cloud" in settings.body):
            return True
    return False


def _change(delta: Delta, scope: str | None, live: bool = False) -> Change:
    before = delta.before.obj if delta.before is not None else None
    after = delta.after.obj if delta.after is not None else None
    fields = _fields(before, after) if delta.compare else []
    facts = _facts(before, after, delta.op)
    facts.update(delta.facts)
    if scope is not None:
        facts["module_dir"] = scope
        role = None if live else library_role(scope)
        if role is not None:
            facts["library_role"] = role  # nothing applies it: see terraform/library.py
    return Change(
        file=delta.file,
        kind="terraform",
        address=delta.address,
        op=delta.op,
        fields=tuple(fields),
        facts=facts,
        line=delta.line,
        old_file=delta.old_file,
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
    if before is not None and after is not None and is_statement_path(path):
        statements = diff_statements(before, after, path, lambda b, a, p: _diff(b, a, p, {}))
        if statements is not None:
            return statements
    if not (one_sided_dict or both_dicts):
        return diff_values(before, after, path, list_key=default_list_key)
    b: dict[str, Any] = before if isinstance(before, dict) else {}
    a: dict[str, Any] = after if isinstance(after, dict) else {}
    if one_sided_dict and not (a or b):
        return [FieldChange(path=path, before=before, after=after)]
    out: list[FieldChange] = []
    for key in sorted(set(b) | set(a)):
        sub = join_path(path, key)
        if secret_keys.get(key):
            out.extend(diff_values(b.get(key), a.get(key), sub, secret=True))
        elif key in secret_keys or is_secret_name(key):
            out.extend(diff_values(b.get(key), a.get(key), sub, named=True))
        else:
            out.extend(_diff(b.get(key), a.get(key), sub, {}))
    return out


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
        facts.update(open_principal_facts(before, after))
        facts.update(search_access_facts(before, after))
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
