"""A Terraform plan as it may be stored and served: sensitive values never leave the request.

`terraform show -json` prints sensitive values in clear (marked in `before_sensitive` /
`after_sensitive`), and `variables` holds sensitive inputs in clear too. What we store keeps only
what the analyzer reads, with those values replaced.
"""

from __future__ import annotations

from typing import Any

from app.core.models import REDACTED
from app.core.redact import is_secret_literal, is_secret_name
from app.semdiff.terraform.plan.outputs import output_changes
from app.semdiff.terraform.plan.read import part as _part

# What a stored plan keeps: the parts the analyzer reads. `variables`, `planned_values`,
# `prior_state` and `configuration` repeat values (sensitive ones in clear, for variables) and are
# never needed to judge the change, so they are not kept at all.
_KEPT = ("format_version", "terraform_version", "errored", "complete", "applyable", "timestamp")
_SECTIONS = ("resource_changes", "resource_drift")
CHANGED_SECRET = "<redacted:changed>"


def redact_for_storage(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with every sensitive value replaced, for the database and the API.

    A sensitive top-level attribute that changed keeps a distinct marker on its after side, so
    the analyzer still tells the reviewer *that* it changed when it reads the stored plan.
    """
    out: dict[str, Any] = {k: plan[k] for k in _KEPT if k in plan}
    for section in _SECTIONS:
        out[section] = [_redact_entry(e) for e in plan.get(section) or [] if isinstance(e, dict)]
    # Sensitivity that old plans only mark in `planned_values` is folded in first (that section
    # is not kept), so the stored outputs are redacted and read back as sensitive.
    outputs = output_changes(plan)
    out["output_changes"] = {name: _redact_change(entry) for name, entry in outputs.items()}
    return out


def _redact_entry(entry: dict[str, Any]) -> dict[str, Any]:
    body = entry.get("change")
    if not isinstance(body, dict):
        return dict(entry)
    return {**entry, "change": _redact_change(body)}


def _redact_change(body: dict[str, Any]) -> dict[str, Any]:
    before, after = body.get("before"), body.get("after")
    hidden_b = _masked(before, body.get("before_sensitive"))
    hidden_a = _masked(after, body.get("after_sensitive"))
    if isinstance(before, dict) and isinstance(after, dict) and isinstance(hidden_a, dict):
        for key in set(before) & set(after):
            if hidden_a.get(key) == REDACTED and before[key] != after[key]:
                hidden_a[key] = CHANGED_SECRET
    elif hidden_a == REDACTED and before != after:
        hidden_a = CHANGED_SECRET
    return {**body, "before": hidden_b, "after": hidden_a}


def _masked(value: Any, sensitive: Any) -> Any:
    """`value` with sensitive parts replaced by REDACTED (secret-named literals too)."""
    if sensitive is True:
        return None if value is None else REDACTED
    if isinstance(value, dict):
        return {
            k: (REDACTED if is_secret_name(str(k)) and is_secret_literal(v)
                else _masked(v, _part(sensitive, k)))
            for k, v in value.items()
        }  # fmt: skip
    if isinstance(value, list):
        return [_masked(v, _part(sensitive, i)) for i, v in enumerate(value)]
    return value
