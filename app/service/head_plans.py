"""The Terraform plans an evaluation reads: those posted for exactly this head, from our store.

A plan is bound to the head SHA it was made for, so a plan for an older head never speaks for a
newer one. Every distinct plan is read (the gate judges which count, `app.gate.plan_trust`);
more than `MAX_PLANS_PER_HEAD` is a problem that fails the check (fail closed), never a silent cut.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from app.core.snapshot import PullRequestSnapshot
from app.store.plans import MAX_PLANS_PER_HEAD, plans_for


def with_head_plans(
    engine: Engine, repo: str, snapshot: PullRequestSnapshot
) -> PullRequestSnapshot:
    """The snapshot with its head's plans (at most `MAX_PLANS_PER_HEAD`), and a problem when
    more were posted."""
    plans = tuple(  # apply plans speak for a deployment, never for a PR head
        p
        for p in plans_for(engine, repo, snapshot.head_sha)
        if p.provenance is None or p.provenance.stage != "apply"
    )
    too_many = (
        (f"more than {MAX_PLANS_PER_HEAD} different plans were posted for this head",)
        if len(plans) > MAX_PLANS_PER_HEAD
        else ()
    )
    return snapshot.model_copy(
        update={"plans": plans[:MAX_PLANS_PER_HEAD], "problems": snapshot.problems + too_many}
    )
