"""The base moves an evaluation needs to tell stale plans (`app.gate.plan_freshness`).

For each distinct base that a plan of this head was made against, one compare of that base with
the PR's base branch (`app.github.base_compare`). Plans posted without a base are first given the
base branch's tip now, which the store records once (`app.store.plan_bases`); that compare (from
the PR's `base.sha`) also answers for plans made against `base.sha` and against the tip it read,
so they are not compared again.

The PR's `base.sha` is not skipped as "unmoved": GitHub leaves it at the base the PR was last
synchronised with, not the branch's tip, so a plan made against it (what the Action posts) can be
stale while it still equals `base.sha`. Only a compare tells.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from app.core.snapshot import BaseMove, PullRequestSnapshot, TerraformPlan
from app.github.base_compare import base_move
from app.github.client import InstallationClient
from app.store.plan_bases import record_assumed_base

MAX_BASES = 10
"""Distinct plan bases compared per evaluation; plans of other bases are stale (fail closed)."""


def with_base_moves(
    client: InstallationClient, engine: Engine, snapshot: PullRequestSnapshot
) -> PullRequestSnapshot:
    """The snapshot with `base_moves` for its plans' bases (nothing to do without plans)."""
    plans = snapshot.plans
    if not plans:
        return snapshot
    moves: dict[str, BaseMove] = {}
    if any(p.provenance is not None and not p.provenance.base_sha for p in plans):
        since = snapshot.base_sha
        now = base_move(client, snapshot.repo, since, snapshot.base_ref)
        tip = now.to_sha or since
        record_assumed_base(engine, snapshot.repo, snapshot.head_sha, tip)
        plans = tuple(_assumed(p, tip) for p in plans)
        moves[since] = now  # this compare already answers for plans made against `since`
        if tip != since:  # and the branch's tip, read just now, has not moved since
            moves[tip] = BaseMove(from_sha=tip, to_sha=tip)
    bases = sorted({p.provenance.base_sha for p in plans if p.provenance and p.provenance.base_sha})
    for base in bases[:MAX_BASES]:
        if base not in moves:
            moves[base] = base_move(client, snapshot.repo, base, snapshot.base_ref)
    for base in bases[MAX_BASES:]:
        moves[base] = BaseMove(from_sha=base, error=f"more than {MAX_BASES} plan bases")
    wanted = [moves[b] for b in bases]  # only the bases a plan names
    return snapshot.model_copy(update={"plans": plans, "base_moves": tuple(wanted)})


def _assumed(plan: TerraformPlan, tip: str) -> TerraformPlan:
    provenance = plan.provenance
    if provenance is None or provenance.base_sha or provenance.stage != "pr":
        return plan
    update = provenance.model_copy(update={"base_sha": tip, "base_assumed": True})
    return plan.model_copy(update={"provenance": update})
