"""Terraform plans (`terraform show -json plan.out`): what Terraform will actually do.

Source code cannot show that changing `engine` on an `aws_db_instance` *replaces* it (destroy,
then create: the data is gone), or that a variable change deletes forty instances; the plan says
so. Each `resource_changes[]` entry becomes one Change of kind `terraform` with
`facts.source: "plan"` and the full plan address (`module.db.aws_db_instance.this[0]`):

- `actions` → op: `create`, `update`, `delete`, `replace` (`["delete","create"]` or
  `["create","delete"]`; `facts.replace_order` says which), `forget` (a `removed` block with
  `destroy = false`) → `delete` with `facts.destroy: false`; `no-op` and data-source `read`s are
  skipped, except a no-op that moved (`previous_address` → `rename`) or is being imported;
- `replace_paths` (the attributes that forced a replacement) and `action_reason` become facts;
- values: `before_sensitive`/`after_sensitive` mark values that are redacted before any field is
  built (and secret-named literals are redacted as everywhere else); `after_unknown` values read
  `(known after apply)`; IAM policy documents held as JSON strings are decoded so they compare
  statement by statement;
- `output_changes` become `output.NAME` changes; `resource_drift` and the plan's own state
  (errored, incomplete, counts of deletes and replaces) go into one `plan` summary change, emitted
  when there is something to say.

OpenTofu writes the same format. Format versions 0.x and 1.x are read; anything else, or JSON
that is not a plan, is unparseable (fail closed).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable
from typing import Any

from app.core.errors import UnparseableError
from app.core.gc_pause import paused_gc
from app.core.models import REDACTED, Change, FieldChange, Op
from app.core.redact import inherits_secret, is_secret_name, mask_secret, redacted_view
from app.semdiff.common.structure import diff_values
from app.semdiff.terraform.plan.iam import by_sid, decoded_policy, policy_facts
from app.semdiff.terraform.plan.outputs import output_changes

UNKNOWN = "(known after apply)"
PLAN_FILE = "plan.json"
SUPPORTED_MAJOR = ("0", "1")

_REPLACE_ORDER = {
    ("delete", "create"): "delete_before_create",
    ("create", "delete"): "create_before_destroy",
}


def plan_file(directory: str) -> str:
    """The path plan changes are reported under: `<dir>/plan.json`, so the dir's owners apply."""
    return posixpath.join(directory, PLAN_FILE) if directory else PLAN_FILE


def load_plan(data: bytes | str, source: str) -> dict[str, Any]:
    """Parse plan JSON and check it is a plan of a format we read."""
    try:
        with paused_gc():
            plan = json.loads(data, parse_constant=reject_constant)
    except (ValueError, RecursionError) as exc:
        raise UnparseableError(f"not a JSON document: {exc}", file=source) from exc
    return check_plan(plan, source)


def reject_constant(name: str) -> Any:
    """`json.loads` hook: NaN and Infinity are not JSON, and Terraform never writes them."""
    raise ValueError(f"{name} is not a JSON value")


def check_plan(plan: Any, source: str) -> dict[str, Any]:
    """`plan` (parsed JSON) if it is a Terraform plan of a format we read."""
    if not isinstance(plan, dict) or "format_version" not in plan:
        raise UnparseableError(
            "not a Terraform plan: no format_version",
            file=source,
            hint="pass the output of `terraform show -json plan.out`",
        )
    version = str(plan["format_version"])
    if version.split(".")[0] not in SUPPORTED_MAJOR:
        raise UnparseableError(
            f"unsupported plan format_version {version!r} (reads 0.x and 1.x)", file=source
        )
    for key in ("resource_changes", "resource_drift"):
        if not isinstance(plan.get(key, []), list):
            raise UnparseableError(f"`{key}` is not a list", file=source)
    return plan


def analyze_plan(plan: dict[str, Any], directory: str) -> list[Change]:
    """Every change the plan makes in the module directory `directory` (`""` for the root)."""
    with paused_gc():
        return _analyze(plan, directory)


def _analyze(plan: dict[str, Any], directory: str) -> list[Change]:
    file = plan_file(directory)
    out: list[Change] = []
    counts = {"create": 0, "update": 0, "delete": 0, "replace": 0}
    for entry in plan.get("resource_changes") or []:
        change = _resource_change(entry, file, directory)
        if change is not None:
            out.append(change)
            if change.op in counts and not change.facts.get("importing"):
                counts[change.op] += 1
    for name, entry in sorted(output_changes(plan).items()):
        change = _output_change(name, entry, file, directory)
        if change is not None:
            out.append(change)
    summary = _summary(plan, file, directory, counts)
    if summary is not None:
        out.insert(0, summary)
    return out


def _op(actions: list[str]) -> tuple[Op | None, dict[str, Any]]:
    pair = tuple(actions)
    if pair in _REPLACE_ORDER:
        return "replace", {"replace_order": _REPLACE_ORDER[pair]}
    if pair == ("create",):
        return "create", {}
    if pair == ("update",):
        return "update", {}
    if pair == ("delete",):
        return "delete", {}
    if pair == ("forget",):
        return "delete", {"destroy": False, "removed_block": True, "forget": True}
    return None, {}


def _resource_change(entry: Any, file: str, directory: str) -> Change | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("change"), dict):
        raise UnparseableError("a resource_changes entry has no `change` object", file=file)
    body = entry["change"]
    actions = [str(a) for a in body.get("actions") or []]
    address = str(entry.get("address") or "")
    if not address or not actions:
        raise UnparseableError("a resource_changes entry has no address or actions", file=file)
    op, extra = _op(actions)
    previous = entry.get("previous_address")
    importing = body.get("importing")
    if op is None:
        if actions == ["no-op"] and previous:
            op = "rename"
        elif actions == ["no-op"] and importing:
            op = "create"
        else:
            return None  # no-op, or a data source read: nothing changes in the world
    before = _visible(body.get("before"), body.get("before_sensitive"), None)
    after = _visible(body.get("after"), body.get("after_sensitive"), body.get("after_unknown"))
    if op == "delete":
        after = None
    if op == "create" and not importing:
        before = None
    facts: dict[str, Any] = {
        "source": "plan",
        "block_type": "data" if entry.get("mode") == "data" else "resource",
        "resource_type": str(entry.get("type") or ""),
        "module_dir": directory,
        "plan_address": address,
        "actions": actions,
        **extra,
    }
    for key in ("module_address", "provider_name", "action_reason"):
        if entry.get(key):
            facts[key] = entry[key]
    if "index" in entry:
        facts["index"] = entry["index"]
    replace_paths = body.get("replace_paths")
    if replace_paths:
        facts["replace_paths"] = [_path_text(p) for p in replace_paths if isinstance(p, list)]
    if previous:
        facts["previous_address"] = str(previous)
        if op == "rename":
            facts.update({"from": str(previous), "to": address})
    if isinstance(importing, dict):
        facts["importing"] = True
        if importing.get("id") is not None:
            facts["import_id"] = str(importing["id"])
    facts.update(policy_facts(before, after))
    fields = _fields(before, after, "")
    if op in ("update", "replace"):
        fields += _hidden_changes(body, {f.path for f in fields})
    return Change(
        file=file,
        kind="terraform",
        address=address,
        op=op,
        fields=tuple(sorted(fields, key=lambda f: f.path)),
        facts=facts,
    )


def _hidden_changes(body: dict[str, Any], shown: set[str]) -> list[FieldChange]:
    """Sensitive attributes whose (redacted) value changed: the reviewer sees *that* it changed."""
    before, after = body.get("before"), body.get("after")
    if not isinstance(before, dict) or not isinstance(after, dict):
        return []
    out = []
    for key in sorted(set(before) | set(after)):
        hidden = part(body.get("before_sensitive"), key) or part(body.get("after_sensitive"), key)
        if hidden and key not in shown and before.get(key) != after.get(key):
            out.append(FieldChange(path=key, before=REDACTED, after=REDACTED))
    return out


def _output_change(name: str, entry: Any, file: str, directory: str) -> Change | None:
    if not isinstance(entry, dict):
        return None
    op, _extra = _op([str(a) for a in entry.get("actions") or []])
    if op is None:
        return None
    before = _visible(entry.get("before"), entry.get("before_sensitive"), None)
    after = _visible(entry.get("after"), entry.get("after_sensitive"), entry.get("after_unknown"))
    facts: dict[str, Any] = {"source": "plan", "block_type": "output", "module_dir": directory}
    fields = diff_values(before, after, "value")
    if entry.get("before_sensitive") is True or entry.get("after_sensitive") is True:
        facts["sensitive"] = True
        if not fields and entry.get("before") != entry.get("after"):
            fields = [FieldChange(path="value", before=before, after=after)]
    return Change(
        file=file,
        kind="terraform",
        address=f"output.{name}",
        op=op,
        fields=tuple(fields),
        facts=facts,
    )


def _summary(
    plan: dict[str, Any], file: str, directory: str, counts: dict[str, int]
) -> Change | None:
    drifted = [
        str(d.get("address"))
        for d in plan.get("resource_drift") or []
        if isinstance(d, dict)
        and isinstance(d.get("change"), dict)
        and (d["change"].get("actions") or ["no-op"]) != ["no-op"]
    ]
    errored = plan.get("errored") is True
    incomplete = plan.get("complete") is False
    if not (drifted or errored or incomplete or counts["delete"] or counts["replace"]):
        return None
    facts: dict[str, Any] = {
        "source": "plan",
        "block_type": "plan",
        "plan_summary": True,
        "module_dir": directory,
        "creates": counts["create"],
        "updates": counts["update"],
        "deletes": counts["delete"],
        "replaces": counts["replace"],
        "drifted": drifted,
        "errored": errored,
        "complete": not incomplete,
        "format_version": str(plan.get("format_version")),
    }
    if plan.get("terraform_version"):
        facts["terraform_version"] = str(plan["terraform_version"])
    return Change(
        file=file, kind="terraform", address=f"plan:{directory or '.'}", op="update", facts=facts
    )


def _visible(value: Any, sensitive: Any, unknown: Any) -> Any:
    """`value` with sensitive parts redacted and unknown parts marked `(known after apply)`."""
    if not sensitive and not unknown:
        return value  # no mask below here (the common case): nothing to copy
    if sensitive is True:
        return None if value is None else REDACTED
    if unknown is True:
        return UNKNOWN
    if isinstance(value, dict):
        hidden = sensitive if isinstance(sensitive, dict) else {}
        unknowns = unknown if isinstance(unknown, dict) else {}
        out = {}
        for k, v in value.items():
            sub_sensitive, sub_unknown = hidden.get(k), unknowns.get(k)
            # An attribute without a mask (most of them) is taken as it is, without a call.
            out[k] = _visible(v, sub_sensitive, sub_unknown) if sub_sensitive or sub_unknown else v
        for k in _keys(unknown):
            if k not in value:
                out[k] = _visible(None, hidden.get(k), True)
        return out
    if isinstance(value, list):
        return [
            _visible(item, part(sensitive, i), part(unknown, i)) for i, item in enumerate(value)
        ]
    if value is None and isinstance(unknown, dict | list):
        return _visible({} if isinstance(unknown, dict) else [], sensitive, unknown)
    return value


def _keys(mask: Any) -> Iterable[str]:
    return [k for k, v in mask.items() if v is True] if isinstance(mask, dict) else []


def part(mask: Any, key: str | int) -> Any:
    """The sub-mask of `mask` (a sensitive/unknown mask) for one key or index."""
    if isinstance(mask, dict) and isinstance(key, str):
        return mask.get(key)
    if isinstance(mask, list) and isinstance(key, int) and key < len(mask):
        return mask[key]
    return None


def _path_text(path: list[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _fields(before: Any, after: Any, path: str, named: bool = False) -> list[FieldChange]:
    """Like the source analyzer: a one-sided object is listed attribute by attribute, so a rule
    reads `final_snapshot_identifier` of a deleted database the same from a plan or a file.

    `named` says `path` is secret-named (or inside a secret-named mapping): its literal values are
    masked as `diff_values` masks them, for providers that do not mark them sensitive and for
    format 0.1 plans, which mark nothing.
    """
    one_sided = (before is None and isinstance(after, dict)) or (
        after is None and isinstance(before, dict)
    )
    if not one_sided and not (isinstance(before, dict) and isinstance(after, dict)):
        if before == after and type(before) is type(after):
            return []  # the common case in an update: skip decoding and the deep comparison
        return diff_values(
            decoded_policy(path, before),
            decoded_policy(path, after),
            path,
            list_key=by_sid,
            named=named,
        )
    if one_sided:
        return _one_sided(before, after, path, named)
    out: list[FieldChange] = []
    for key in sorted(set(before) | set(after)):
        sub = f"{path}.{key}" if path else key
        secret = is_secret_name(key) or (named and inherits_secret(key))
        out.extend(_fields(before.get(key), after.get(key), sub, secret))
    return out


def _one_sided(before: Any, after: Any, path: str, named: bool) -> list[FieldChange]:
    """The attributes of a created (or deleted) object: one field each, nested objects walked.

    What `diff_values(None, value)` gives for each attribute, built directly: this is most of the
    work on a large plan (every attribute of every created and deleted object).
    """
    present = after if before is None else before
    out: list[FieldChange] = []
    for key in sorted(present):
        value = present[key]
        if value is None:
            continue  # null on both sides: nothing to show
        sub = f"{path}.{key}" if path else key
        secret = is_secret_name(key) or (named and inherits_secret(key))
        if isinstance(value, dict):
            if before is None:
                out.extend(_one_sided(None, value, sub, secret))
            else:
                out.extend(_one_sided(value, None, sub, secret))
            continue
        value = decoded_policy(sub, value)
        shown = mask_secret(value) if secret else redacted_view(value)
        pair = (None, shown) if before is None else (shown, None)
        out.append(_field(sub, pair[0], pair[1]))
    return out


_VALIDATE_FIELD = FieldChange.__pydantic_validator__.validate_python


def _field(path: str, before: Any, after: Any) -> FieldChange:
    """`FieldChange(...)` through the model's validator directly: the same checks at half the
    cost, which counts when a plan creates or deletes thousands of objects."""
    made: FieldChange = _VALIDATE_FIELD({"path": path, "before": before, "after": after})
    return made
