"""Which counted Terraform plans are still fresh: a plan is for a head *and* a base.

A plan shows what applying the PR's merge result would do. When the base branch moves and the
files changed on it since the plan's base touch the planned module directory (or a module
directory the plan sources locally), the merge result of that directory is no longer the one
planned: the plan is **stale** and does not count. With `plans: required` its directory waits for
a new plan; with `optional` the check says so and judges the source alone. Pure: the service
fetches the base moves (`PullRequestSnapshot.base_moves`, `app.service.base_moves`).

A plan whose poster named no base was taken as planned against the base's tip when it was first
read (`PlanProvenance.base_assumed`); a plan read without any base (`countersign analyze`) or
whose base move was not fetched is fresh. A base move that could not be read makes the plan stale
(fail closed).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.snapshot import BaseMove, PullRequestSnapshot, TerraformPlan

FILES_SHOWN = 3
MAX_MODULE_DIRS = 50


@dataclass(frozen=True)
class Freshness:
    fresh: tuple[TerraformPlan, ...]
    stale: tuple[TerraformPlan, ...]
    reasons: tuple[str, ...]
    """One sentence per stale plan, in the order of `stale`."""


def split_fresh(plans: Iterable[TerraformPlan], snapshot: PullRequestSnapshot) -> Freshness:
    """The plans that still speak for the PR's merge result, and why each other one does not."""
    moves = {m.from_sha: m for m in snapshot.base_moves}
    fresh: list[TerraformPlan] = []
    stale: list[TerraformPlan] = []
    reasons: list[str] = []
    for plan in plans:
        why = staleness(plan, moves)
        if why is None:
            fresh.append(plan)
        else:
            stale.append(plan)
            reasons.append(why)
    return Freshness(tuple(fresh), tuple(stale), tuple(reasons))


def staleness(plan: TerraformPlan, moves: Mapping[str, BaseMove]) -> str | None:
    """Why the plan is stale (None: it is fresh)."""
    provenance = plan.provenance
    base = provenance.base_sha if provenance is not None else ""
    move = moves.get(base) if base else None
    if move is None or (not move.error and move.to_sha == base):
        return None
    where = plan.dir or "."
    if move.error:
        return (
            f"{where}: plan {plan.sha256[:12]} is stale: cannot tell what changed on the base "
            f"since {base[:7]} ({move.error}); post a new plan"
        )
    dirs = {plan.dir, *(provenance.module_dirs if provenance is not None else ())}
    touched = [f for f in move.files if any(_inside(f, d) for d in dirs)]
    if not touched:
        return None
    shown = ", ".join(touched[:FILES_SHOWN])
    more = len(touched) - FILES_SHOWN
    return (
        f"{where}: plan {plan.sha256[:12]} is stale: base moved from {base[:7]} to "
        f"{move.to_sha[:7]}, changing {shown}{f' and {more} more' if more > 0 else ''}; "
        "post a new plan"
    )


def _inside(path: str, directory: str) -> bool:
    """A file of the module directory or below it (templates, nested files); the root module
    directory (`""`) holds only top-level files."""
    if not directory:
        return "/" not in path
    return path.startswith(directory.rstrip("/") + "/")


def local_module_dirs(plan: Mapping[str, Any], directory: str) -> tuple[str, ...]:
    """The repository directories a plan's configuration sources locally (`source = "../x"`),
    nested calls included, resolved against the plan's directory; read at upload, before the
    configuration is dropped from what is stored."""
    found: list[str] = []
    stack: list[tuple[Any, str]] = [
        ((plan.get("configuration") or {}).get("root_module") or {}, directory)
    ]
    while stack and len(found) < MAX_MODULE_DIRS:
        module, where = stack.pop()
        calls = module.get("module_calls") if isinstance(module, dict) else None
        for call in (calls or {}).values() if isinstance(calls, dict) else ():
            source = call.get("source") if isinstance(call, dict) else None
            if not isinstance(source, str) or not source.startswith(("./", "../")):
                continue
            resolved = posixpath.normpath(posixpath.join(where or ".", source))
            if resolved == ".." or resolved.startswith("../"):
                continue  # outside the repository: nothing a base move can change here
            resolved = "" if resolved == "." else resolved
            if resolved not in found:
                found.append(resolved)
            stack.append((call.get("module") or {}, resolved))
    return tuple(found[:MAX_MODULE_DIRS])
