"""`merge_group`: a merge queue asks for the group's checks; decide it from its PRs.

`destroyed` (the group is gone) has nothing to gate. The decision is `app.service.merge_group`.
"""

from __future__ import annotations

from app.service.handlers.base import Event, Outcome
from app.service.merge_group import decide_merge_group


def handle(event: Event) -> Outcome:
    group = event.payload.merge_group
    if event.action != "checks_requested" or group is None:
        return "ignored"
    decide_merge_group(event.evaluator, event.installation_id, event.repo, group)
    return "done"
