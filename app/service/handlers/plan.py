"""`countersign_plan`, our own inbox event (never from GitHub): a Terraform plan arrived for a
head SHA. Each open PR whose head is that SHA is queued for re-evaluation, as the sweep does: a
`synchronize` delivery per PR, so the worker's per-PR lock serialises it."""

from __future__ import annotations

from typing import Any

from app.github.client import CallLog
from app.runtime.context import Runtime
from app.service.evaluator import PullRequestEvaluator
from app.service.handlers.base import Outcome
from app.service.reconcile import queue_reevaluation

PLAN_EVENT = "countersign_plan"
"""Our own inbox event (never from GitHub): a Terraform plan arrived for a head SHA."""


def handle(rt: Runtime, evaluator: PullRequestEvaluator, data: Any) -> Outcome:
    repo, sha = str(data.get("repo") or ""), str(data.get("head_sha") or "")
    # Each arrival re-evaluates (an identical plan from another poster may count where the
    # first did not): the row id, not the digest, names the queued delivery.
    arrival = str(data.get("plan_id") or data.get("sha256") or "")[:24]
    if not repo or not sha or rt.github is None:
        return "ignored"
    installation = rt.github.app_client(CallLog()).json("GET", f"/repos/{repo}/installation")
    inst_id = int(installation["id"])
    client = evaluator.client(inst_id, CallLog())
    queued = 0
    for pr in client.open_pulls(repo):
        if pr["head"]["sha"] == sha:
            queued += queue_reevaluation(
                rt,
                installation_id=inst_id,
                repository=pr["base"]["repo"],
                pr=pr,
                delivery_id=f"plan-{arrival}-{sha[:12]}-{pr['number']}",
                sender="countersign-plan",
            )
    if queued:
        rt.wake.set()
    return "done" if queued else "ignored"
