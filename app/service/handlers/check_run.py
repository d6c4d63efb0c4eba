"""`check_run`: "Re-run" or our "Re-evaluate" button on the `countersign` check.

A PR's check re-evaluates its PRs; a merge group's check (its `external_id` names the group ref)
decides the group again. Other apps' checks, and other buttons, are ignored.
"""

from __future__ import annotations

from app.github import checks
from app.github.webhooks import MergeGroupRef
from app.service.handlers.base import Event, Outcome, evaluate_all
from app.service.merge_group import MERGE_GROUP_EXTERNAL_PREFIX, decide_merge_group


def handle(event: Event) -> Outcome:
    action, run = event.action, event.payload.check_run
    if action not in ("rerequested", "requested_action"):
        return "ignored"
    if run is None or run.name != checks.CHECK_NAME:
        return "ignored"
    requested = event.payload.requested_action
    if action == "requested_action" and (
        requested is None or requested.identifier != checks.REEVALUATE_ACTION["identifier"]
    ):
        return "ignored"
    group_ref = (run.external_id or "").removeprefix(MERGE_GROUP_EXTERNAL_PREFIX)
    if run.external_id and group_ref != run.external_id:  # Re-run of a group check
        group = MergeGroupRef(head_sha=run.head_sha, head_ref=group_ref)
        decide_merge_group(event.evaluator, event.installation_id, event.repo, group)
        return "done"
    return evaluate_all(event)
