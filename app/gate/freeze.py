"""Change freezes: while a window of the repo config's `freezes:` is in force and covers a PR,
its check waits (`action_required`, "frozen until …") unless a member of the window's
`exception_by` granted `/countersign freeze-exception reason: …` for this content.

An exception binds to the content of the whole PR (a digest of every semantic change, secrets
redacted, line numbers left out): a push that changes what the PR does voids it. When the
window ends, the sweep re-evaluates the PR (`app/service/reconcile.py`) and the check clears by
itself. Pure: the moment `now` is handed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.config.freezes import FreezeWindow
from app.core.globs import file_spec
from app.core.models import Change
from app.core.report import FreezeStatus
from app.gate.commands import Asker, FreezeException, refusal
from app.gate.waivers import content_digest, parse_stamp, stamp


@dataclass(frozen=True)
class InForce:
    """The windows in force at a moment that cover the PR, and when the last of them ends."""

    windows: tuple[FreezeWindow, ...]
    until: datetime

    @property
    def names(self) -> str:
        return ", ".join(w.name for w in self.windows)


@dataclass(frozen=True)
class ExceptionGrant:
    """A freeze exception as recorded (the `freeze_exception` audit event's data)."""

    by: str
    reason: str
    at: str
    head_sha: str
    freezes: tuple[str, ...]
    digest: str

    def as_data(self) -> dict[str, object]:
        return {
            "by": self.by,
            "reason": self.reason,
            "at": self.at,
            "head_sha": self.head_sha,
            "freezes": list(self.freezes),
            "digest": self.digest,
        }

    @classmethod
    def from_data(cls, data: dict[str, object]) -> ExceptionGrant:
        freezes = data.get("freezes")
        return cls(
            by=str(data.get("by", "")),
            reason=str(data.get("reason", "")),
            at=str(data.get("at", "")),
            head_sha=str(data.get("head_sha", "")),
            freezes=tuple(str(f) for f in freezes) if isinstance(freezes, list) else (),
            digest=str(data.get("digest", "")),
        )


def _covers(window: FreezeWindow, change: Change) -> bool:
    if window.kinds and change.kind not in window.kinds:
        return False
    if window.environments and change.facts.get("environment") not in window.environments:
        return False
    if window.paths:
        spec = file_spec(window.paths)
        return any(spec.match_file(p) for p in (change.file, change.old_file) if p)
    return True


def in_force(
    freezes: Sequence[FreezeWindow], changes: Sequence[Change], now: datetime
) -> InForce | None:
    """The windows in force at `now` that cover any of `changes`; None when the PR is not frozen."""
    found: list[tuple[FreezeWindow, datetime]] = []
    for window in freezes:
        until = window.active_until(now)
        if until is not None and any(_covers(window, c) for c in changes):
            found.append((window, until))
    if not found:
        return None
    return InForce(windows=tuple(w for w, _ in found), until=max(u for _, u in found))


def all_objects(changes: Sequence[Change]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({(c.file, c.address) for c in changes}))


def judge_exception(
    command: FreezeException,
    asker: Asker,
    *,
    freeze: FreezeStatus | None,
    changes: Sequence[Change],
    head_sha: str,
) -> ExceptionGrant | str:
    """The exception `asker` grants against the freeze the check shows, or why not."""
    if freeze is None or parse_stamp(freeze.until) <= asker.now:
        return "no change freeze covers this PR now: there is nothing to except"
    what = f"grant an exception to the freeze `{freeze.name}`"
    refused = refusal(asker, freeze.exception_by, what)
    if refused:
        return refused
    return ExceptionGrant(
        by=asker.login,
        reason=command.reason,
        at=stamp(asker.now),
        head_sha=head_sha,
        freezes=(freeze.name,),
        digest=content_digest(changes, all_objects(changes)),
    )


def freeze_status(
    frozen: InForce | None,
    grants: Sequence[ExceptionGrant],
    changes: Sequence[Change],
    head_sha: str,
) -> FreezeStatus | None:
    """What the check says about the freeze: None when none is in force for this PR."""
    if frozen is None:
        return None
    digest = content_digest(changes, all_objects(changes))
    honoured: str | None = None
    refused: list[str] = []
    for grant in grants:
        if frozen.names not in grant.freezes:
            continue  # granted for other windows
        if grant.head_sha == head_sha or grant.digest == digest:
            honoured = f"{grant.by}: {grant.reason}"
        else:
            refused.append(
                f"{grant.by}'s exception was given at {grant.head_sha[:7]}; the changes "
                "differ since: grant it again for the new content"
            )
    # Several windows at once: only who each of them allows (fail closed).
    allowed = sorted(set.intersection(*(set(w.exception_by) for w in frozen.windows)))
    return FreezeStatus(
        name=frozen.names,
        until=stamp(frozen.until),
        exception_by=tuple(allowed),
        exception=honoured,
        refused=() if honoured else tuple(refused),
    )


def frozen_until(status: FreezeStatus | None) -> datetime | None:
    """When a waiting freeze ends (what the sweep waits for); None when nothing waits."""
    if status is None or status.exception is not None:
        return None
    return parse_stamp(status.until)
