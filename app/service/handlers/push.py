"""`push`: a branch moved. GitHub sends no pull-request event when a PR's *base* moves (a merge,
a direct push), yet a Terraform plan made against the old base may now be stale
(`app.gate.plan_freshness`). Each open PR that targets the pushed branch and has plans stored for
its head is queued for re-evaluation, as the plan upload does (`app.service.reconcile`); PRs
without plans are judged on their diff, which a base move does not change, and are left alone.
"""

from __future__ import annotations

from app.github.client import CallLog
from app.service.handlers.base import Event, Outcome
from app.service.reconcile import queue_reevaluation
from app.store.plan_bases import has_pr_plans


def handle(event: Event) -> Outcome:
    data = event.data
    ref = str(data.get("ref") or "")
    after = str(data.get("after") or "")
    if not ref.startswith("refs/heads/") or data.get("deleted") or not after:
        return "ignored"
    if not has_pr_plans(event.rt.engine, event.repo):  # no plans: no GitHub call per push
        return "ignored"
    branch = ref.removeprefix("refs/heads/")
    client = event.evaluator.client(event.installation_id, CallLog())
    queued = 0
    for pr in client.open_pulls(event.repo, base=branch):  # a feature branch: one empty page
        if (pr.get("base") or {}).get("ref") != branch:
            continue
        if not has_pr_plans(event.rt.engine, event.repo, str(pr["head"]["sha"])):
            continue
        queued += queue_reevaluation(
            event.rt,
            installation_id=event.installation_id,
            repository=pr["base"]["repo"],
            pr=pr,
            delivery_id=f"push-{after[:12]}-{pr['number']}",
            sender="countersign-base-moved",
        )
    if queued:
        event.rt.wake.set()
    return "done" if queued else "ignored"
