"""A plan's `output_changes` as they should be read, whatever Terraform version wrote them.

Terraform before 0.15 (format 0.1) writes output values in clear in `output_changes` with no
`before_sensitive`/`after_sensitive`; the only mark is `sensitive: true` on the output in
`planned_values.outputs` (and `prior_state.values.outputs`). That mark is folded in here, so a
sensitive output of an old plan is redacted like one of a new plan.

Terraform 0.12 also reports every output as `create` with `before: null`, changed or not (see
the real `no_changes` fixture). We do not second-guess that from `prior_state`: Terraform fills
`prior_state` outputs from the plan's own evaluation (a brand-new output is there too, see the
real `sensitive-values` fixture), so it cannot tell a new output from an unchanged one. Such a
plan shows its outputs as created.
"""

from __future__ import annotations

from typing import Any


def output_changes(plan: dict[str, Any]) -> dict[str, Any]:
    """`plan["output_changes"]` with sensitivity from the plan's output values folded in;
    entries that are not objects are dropped."""
    planned = _outputs(plan.get("planned_values"))
    state = plan.get("prior_state")
    prior = _outputs(state.get("values") if isinstance(state, dict) else None)
    out: dict[str, Any] = {}
    for name, entry in (plan.get("output_changes") or {}).items():
        if not isinstance(entry, dict):
            continue
        entry = dict(entry)
        marks = (planned.get(name), prior.get(name))
        if any(isinstance(m, dict) and m.get("sensitive") is True for m in marks):
            for key in ("before_sensitive", "after_sensitive"):
                if not entry.get(key):
                    entry[key] = True
        out[str(name)] = entry
    return out


def _outputs(values: Any) -> dict[str, Any]:
    outputs = values.get("outputs") if isinstance(values, dict) else None
    return outputs if isinstance(outputs, dict) else {}
