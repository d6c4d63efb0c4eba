"""Stage 4b of the pipeline: what the PR's waivers and the repo's change freezes do to it.

Waivers (`app.gate.waivers`) take findings off the tier decision; a freeze in force
(`app.gate.freeze`) makes the check wait. Both are decided at `now` (the current time when None),
over the recorded waivers and exceptions the service hands in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.config.freezes import FreezeWindow
from app.core.models import Change
from app.core.report import Finding, FreezeStatus, Risk, WaiverStatus
from app.risk import risk_summary, tier_for

if TYPE_CHECKING:  # loaded when a PR has waivers or the repo has freezes (most have neither)
    from app.gate.freeze import ExceptionGrant
    from app.gate.waivers import WaiverGrant
    from app.risk.rules import Rule


@dataclass(frozen=True)
class Tuned:
    """The findings left for the tier (their risk and tier), the waivers' states, the freeze."""

    findings: tuple[Finding, ...]
    risk: Risk
    tier: int
    waivers: tuple[WaiverStatus, ...]
    freeze: FreezeStatus | None


def tune(
    findings: Sequence[Finding],
    changes: Sequence[Change],
    freezes: Sequence[FreezeWindow],
    waivers: Sequence[WaiverGrant],
    exceptions: Sequence[ExceptionGrant],
    head_sha: str,
    now: datetime | None,
    rules: Callable[[str], Rule | None],
) -> Tuned:
    """`rules` finds a rule of the deployed pack by id: a waiver holds only while it allows."""
    if not waivers and not freezes:  # what the two stages give for nothing to apply
        kept = tuple(findings)
        return Tuned(kept, risk_summary(kept), tier_for(kept), (), None)
    from app.gate.freeze import freeze_status, in_force
    from app.gate.waivers import apply_waivers

    moment = now or datetime.now(UTC)
    kept, statuses = apply_waivers(waivers, findings, changes, head_sha, moment, rules)
    frozen = freeze_status(in_force(freezes, changes, moment), exceptions, changes, head_sha)
    return Tuned(kept, risk_summary(kept), tier_for(kept), statuses, frozen)
