"""Apply binding at deploy time: read the apply plans of the deployed commit and the plans the
covered PRs were approved with, and say how they differ (`app.gate.apply_binding` decides).

The approved plan of a directory is the one the newest covered merge was judged with (its merge
record's `plans` digest), read back from the plan store for that PR head. Apply plans are those
posted with `?stage=apply` for the deployed SHA that count (`apply_plan_refusal`). No apply plan
is a difference: an environment that requires plans is never approved without one.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Engine

from app.config.repo import RepoConfig
from app.core.models import Change
from app.gate.apply_binding import apply_plan_refusal, plan_differences
from app.gate.deploy_decision import RecordedMerge
from app.semdiff import analyze_plan
from app.store.plans import plans_for


def apply_differences(
    engine: Engine,
    repo: str,
    default_branch: str,
    sha: str,
    config: RepoConfig,
    covered: tuple[RecordedMerge, ...],
) -> tuple[str, ...]:
    """How the deployed commit's apply plans differ from the approved ones (empty: equal)."""
    applied: dict[str, list[Change]] = {}
    ignored: list[str] = []
    for plan in plans_for(engine, repo, sha):
        if plan.provenance is None or plan.provenance.stage != "apply":
            continue
        why = apply_plan_refusal(plan.provenance, repo, default_branch, config)
        if why is not None:
            ignored.append(f"{plan.dir or '.'}: apply plan {plan.sha256[:12]} ignored: {why}")
            continue
        applied.setdefault(plan.dir, []).extend(analyze_plan(plan.plan, plan.dir))
    if not applied:
        return (f"no apply plan (stage=apply) counts for {sha[:7]}", *ignored)
    approved = _approved(engine, repo, covered, set(applied))
    return tuple(plan_differences(approved, applied))


def _approved(
    engine: Engine, repo: str, covered: tuple[RecordedMerge, ...], dirs: set[str]
) -> Mapping[str, list[Change]]:
    """Each directory's approved changes, from the newest covered merge that had its plan."""
    found: dict[str, list[Change]] = {}
    for merge in sorted(covered, key=lambda m: -m.seq):
        wanted = {d: digest for d, digest in merge.plans.items() if d in dirs and d not in found}
        if not wanted:
            continue
        for plan in plans_for(engine, repo, merge.head_sha):
            if wanted.get(plan.dir) == plan.sha256 and plan.dir not in found:
                found[plan.dir] = analyze_plan(plan.plan, plan.dir)
    return found
