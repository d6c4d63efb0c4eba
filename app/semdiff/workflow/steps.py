"""Identity of workflow steps, so a change to one step reads as a change of that step.

Most steps have no `id` or `name` (`- uses: actions/checkout@<sha>`). Matching them by position
turns an inserted step into a rewrite of every later one, and comparing the list whole dumps it.
A step is therefore known by its `id`, else its `name`, else the action it runs without the ref
(`uses:actions/checkout`, so a SHA bump is one `uses` field change), else the first line of its
script (`run:make test`); a repeat gets `#2`, `#3` in order of occurrence.
"""

from __future__ import annotations

from typing import Any

from app.core.models import FieldChange
from app.semdiff.common.data import diff_tree
from app.semdiff.common.structure import KeyChooser

__all__ = ["diff_steps", "step_identities"]

MAX_SCRIPT_LABEL = 60


def _identity(step: Any) -> str:
    if not isinstance(step, dict):
        return "step"
    for field in ("id", "name"):
        value = step.get(field)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return " ".join(str(value).split())
    action = step.get("uses")
    if isinstance(action, str) and action.strip():
        return "uses:" + action.strip().partition("@")[0]
    script = step.get("run")
    if isinstance(script, str):
        lines = [line.strip() for line in script.splitlines() if line.strip()]
        first = lines[0] if lines else ""
        if len(first) > MAX_SCRIPT_LABEL:
            first = first[: MAX_SCRIPT_LABEL - 1] + "…"
        return "run:" + first
    return "step"


def step_identities(steps: list[Any]) -> list[str]:
    """One identity per step, unique within the list (`#n` for the n-th repeat)."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for step in steps:
        base = _identity(step)
        seen[base] = seen.get(base, 0) + 1
        out.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
    return out


def diff_steps(before: Any, after: Any, list_key: KeyChooser) -> list[FieldChange]:
    """Field changes of `steps`, matched by identity, plus `steps.order` when the common steps
    run in a different order (order matters: a step sees what earlier ones did)."""
    if not isinstance(before, list | None) or not isinstance(after, list | None):
        return diff_tree(before, after, "steps", list_key=list_key)
    b_steps, a_steps = before or [], after or []
    b = dict(zip(step_identities(b_steps), b_steps, strict=True))
    a = dict(zip(step_identities(a_steps), a_steps, strict=True))
    out: list[FieldChange] = []
    for key in [*b, *(k for k in a if k not in b)]:
        out.extend(diff_tree(b.get(key), a.get(key), f"steps[{key}]", list_key=list_key))
    common = set(b) & set(a)
    if [k for k in b if k in common] != [k for k in a if k in common]:
        out.append(FieldChange(path="steps.order", before=list(b), after=list(a)))
    return out
