"""Approvals given against a plan that a base move made stale, judged against its replacement.

An approval binds to content, and with a plan the content includes what the plan says Terraform
will do. The head does not change when the base moves, so an approval given at the head before a
new plan arrived was given against the old (now stale) plan: it still counts when the new plan's
changes in the approver's scope (`app.gate.approval_scope`) are the same as the old plan's, and is
voided, with the differences listed, when they are not. The plan digest itself is left out of the
comparison (a re-run of the same plan has another digest: timestamps), as are line numbers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.config.repo import RepoConfig
from app.core.models import Change
from app.core.moments import aware_utc
from app.core.report import ScopeChange
from app.core.snapshot import PullRequestSnapshot
from app.gate.approval_scope import ApproverScope, canonical_change, scope_changes
from app.gate.plan_freshness import split_fresh
from app.gate.plan_trust import judge_plans
from app.semdiff import plan_changes


@dataclass(frozen=True)
class ReplacedPlans:
    """The stale plans' changes and their fresh replacements' of the same directories."""

    before: tuple[Change, ...]
    after: tuple[Change, ...]
    since: datetime
    """When the first replacement arrived: an approval submitted earlier saw the old plan."""
    old_digests: tuple[str, ...]

    def saw_old_plan(self, submitted_at: datetime | None) -> bool:
        return submitted_at is not None and aware_utc(submitted_at) < self.since

    def differs(self, scope: ApproverScope) -> bool:
        return _digest(self.before, scope) != _digest(self.after, scope)

    def differences(self, scope: ApproverScope) -> tuple[ScopeChange, ...]:
        return scope_changes(_unbound(self.before), _unbound(self.after), scope)


def replaced_plans(snapshot: PullRequestSnapshot, config: RepoConfig) -> ReplacedPlans | None:
    """None unless a directory has both a stale plan and a fresh one with a known arrival."""
    if config.terraform.plans == "off":
        return None
    freshness = split_fresh(judge_plans(snapshot, config).trusted, snapshot)
    stale_dirs = {p.dir for p in freshness.stale}
    fresh = [p for p in freshness.fresh if p.dir in stale_dirs]
    arrivals = [aware_utc(p.received_at) for p in fresh if p.received_at is not None]
    if not fresh or not arrivals:
        return None
    replaced = {p.dir for p in fresh}
    old = [p for p in freshness.stale if p.dir in replaced]
    return ReplacedPlans(
        before=tuple(plan_changes(old, config)),
        after=tuple(plan_changes(fresh, config)),
        since=max(arrivals),
        old_digests=tuple(dict.fromkeys(p.sha256 for p in old)),
    )


def _unbound(changes: Iterable[Change]) -> list[Change]:
    """The changes without the digest of the plan they came from."""
    return [
        c.model_copy(update={"facts": {k: v for k, v in c.facts.items() if k != "plan_sha256"}})
        for c in changes
    ]


def _digest(changes: Sequence[Change], scope: ApproverScope) -> str:
    items = sorted(
        json.dumps(canonical_change(c), sort_keys=True, default=str)
        for c in _unbound(changes)
        if scope.covers(c)
    )
    return hashlib.sha256("\n".join(items).encode()).hexdigest()
