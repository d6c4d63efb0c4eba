"""Waivers: a named team member takes one rule's finding off the tier, for this content only.

A rule says who may waive it (`waivable_by:`, default nobody; a critical finding only with
`waive_critical: true`). `/countersign waive <rule-id> [<address>] reason: … [expires: 7d]`
binds to the waived objects' content at the evaluated head (a digest of their semantic changes,
secrets redacted, line numbers left out, as approvals bind: docs/adr/0003): a push that changes
any of them voids the waiver; an edit elsewhere keeps it. An expired or voided waiver waives
nothing and the check says so. A Cedar denial (`blocked`) is never lifted by a waiver.

Pure: `judge_waive` decides a command, `apply_waivers` decides an evaluation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from app.core.models import Change
from app.core.redact import redact_tree
from app.core.report import Finding, WaiverStatus
from app.gate.approval_scope import Directory, canonical_change
from app.gate.commands import Asker, Waive, expiry, refusal
from app.risk.rules import Rule

ObjectKey = tuple[str, str]
"""(file, address): one waived object."""


@dataclass(frozen=True)
class WaiverGrant:
    """A waiver as recorded (the `waiver` audit event's data, less repo and PR)."""

    rule: str
    address: str | None
    by: str
    team: str | None
    reason: str
    at: str
    expires_at: str
    head_sha: str
    objects: tuple[ObjectKey, ...]
    digest: str

    def as_data(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "address": self.address,
            "by": self.by,
            "team": self.team,
            "reason": self.reason,
            "at": self.at,
            "expires_at": self.expires_at,
            "head_sha": self.head_sha,
            "objects": [list(o) for o in self.objects],
            "digest": self.digest,
        }

    @classmethod
    def from_data(cls, data: dict[str, object]) -> WaiverGrant:
        """From an audit record; ValueError when it is not one."""
        try:
            objects = data["objects"]
            if not isinstance(objects, list):
                raise ValueError("objects")
            return cls(
                rule=str(data["rule"]),
                address=str(data["address"]) if data.get("address") is not None else None,
                by=str(data["by"]),
                team=str(data["team"]) if data.get("team") is not None else None,
                reason=str(data["reason"]),
                at=str(data["at"]),
                expires_at=str(data["expires_at"]),
                head_sha=str(data["head_sha"]),
                objects=tuple((str(f), str(a)) for f, a in objects),
                digest=str(data["digest"]),
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a waiver record: {error}") from error


def stamp(moment: datetime) -> str:
    """A moment as the check and the audit record show it (UTC, whole seconds)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def content_digest(changes: Iterable[Change], objects: Iterable[ObjectKey]) -> str:
    """sha256 of the redacted canonical changes of `objects` (stored and fresh changes alike)."""
    wanted = set(objects)
    items = sorted(
        json.dumps(redact_tree(canonical_change(c)), sort_keys=True, default=str)
        for c in changes
        if (c.file, c.address) in wanted or (c.old_file or "", c.address) in wanted
    )
    return hashlib.sha256(("[" + ",".join(items) + "]").encode()).hexdigest()


def _matches(finding: Finding, rule: str, address: str | None) -> bool:
    return finding.rule == rule and (address is None or finding.address == address)


def _severe(finding: Finding) -> bool:
    return finding.severity == "critical" or finding.tier == "blocked"


def _still_waivable(rule: Rule | None, finding: Finding) -> bool:
    """Whether the rule pack as it is now lets `finding` be waived (it may have changed since the
    waiver was given: a rule removed, `waivable_by` dropped, or the finding now critical)."""
    if rule is None or not rule.waivable_by:
        return False
    return rule.waive_critical or not _severe(finding)


def _team_of(login: str, allowed: tuple[str, ...], directory: Directory) -> str | None:
    return next((h for h in allowed if directory.matches(login, h)), None)


def judge_waive(
    command: Waive,
    asker: Asker,
    *,
    rule: Rule | None,
    findings: Sequence[Finding],
    changes: Sequence[Change],
    head_sha: str,
) -> WaiverGrant | str:
    """The waiver `asker` gives with `command` on the evaluated head, or why it is refused.
    `findings` are the head's findings before any waiver; `changes` its (stored) changes."""
    what = f"waive {command.rule}"
    if rule is None:
        return f"there is no rule `{command.rule}` in the rule pack"
    if not rule.waivable_by:
        return (
            f"rule `{rule.id}` may not be waived: it names nobody under `waivable_by` "
            f"({rule.source}:{rule.line})"
        )
    refused = refusal(asker, rule.waivable_by, what)
    if refused:
        return refused
    matched = [f for f in findings if _matches(f, command.rule, command.address)]
    where = f" at `{command.address}`" if command.address else ""
    if not matched:
        return f"rule `{command.rule}` has no finding{where} on head {head_sha[:7]}"
    if not all(_still_waivable(rule, f) for f in matched):
        return (
            f"rule `{rule.id}` found something critical{where}: critical (and `blocked`) "
            "findings are never waivable unless the rule says `waive_critical: true` "
            f"({rule.source}:{rule.line})"
        )
    ends = expiry(command.expires, asker.now)
    if isinstance(ends, str):
        return ends
    objects = tuple(sorted({(f.file or "", f.address or "") for f in matched}))
    return WaiverGrant(
        rule=command.rule,
        address=command.address,
        by=asker.login,
        team=_team_of(asker.login, rule.waivable_by, asker.directory),
        reason=command.reason,
        at=stamp(asker.now),
        expires_at=stamp(ends),
        head_sha=head_sha,
        objects=objects,
        digest=content_digest(changes, objects),
    )


def apply_waivers(
    grants: Sequence[WaiverGrant],
    findings: Sequence[Finding],
    changes: Sequence[Change],
    head_sha: str,
    now: datetime,
    rules: Callable[[str], Rule | None],
) -> tuple[tuple[Finding, ...], tuple[WaiverStatus, ...]]:
    """The findings left for the tier, and what each waiver does now (active, expired, voided).
    A finding on an object the waiver did not cover (new since) is never waived, nor one the
    rule pack (`rules`, by id) no longer lets be waived."""
    waived: set[int] = set()
    statuses: list[WaiverStatus] = []
    for grant in grants:
        state: Literal["active", "expired", "voided"] = "active"
        why: str | None = None
        if parse_stamp(grant.expires_at) <= now:
            state, why = "expired", f"expired at {grant.expires_at}: waive again if still right"
        elif grant.head_sha != head_sha and content_digest(changes, grant.objects) != grant.digest:
            state = "voided"
            why = (
                f"given at {grant.head_sha[:7]}; a push changed "
                + ", ".join(f"`{a or f}`" for f, a in grant.objects[:5])
                + " since: waive again for the new content"
            )
        on_objects = [
            i
            for i, f in enumerate(findings)
            if _matches(f, grant.rule, grant.address)
            and (f.file or "", f.address or "") in grant.objects
        ]
        rule = rules(grant.rule)
        covered = [i for i in on_objects if _still_waivable(rule, findings[i])]
        if state == "active" and on_objects and not covered:
            state = "voided"
            why = (
                f"the rule pack no longer lets `{grant.rule}` be waived here (rule removed, "
                "no `waivable_by`, or the finding is now critical)"
            )
        if state == "active":
            waived.update(covered)
        statuses.append(
            WaiverStatus(
                rule=grant.rule,
                address=grant.address,
                by=grant.by,
                team=grant.team,
                reason=grant.reason,
                at=grant.at,
                expires_at=grant.expires_at,
                head_sha=grant.head_sha,
                state=state,
                why=why,
                findings=tuple(findings[i] for i in covered) if state == "active" else (),
            )
        )
    kept = tuple(f for i, f in enumerate(findings) if i not in waived)
    return kept, tuple(statuses)


def active_grants(events: Iterable[tuple[str, dict[str, object]]]) -> tuple[WaiverGrant, ...]:
    """The waivers in force after a PR's `waiver`/`waiver_revoked` events (oldest first): the
    latest waiver per (rule, address), less those revoked since. Unreadable records are skipped."""
    current: dict[tuple[str, str | None], WaiverGrant] = {}
    for kind, data in events:
        address = data.get("address")
        key = (str(data.get("rule")), None if address is None else str(address))
        if kind == "waiver_revoked":
            current.pop(key, None)
            continue
        try:
            grant = WaiverGrant.from_data(data)
        except ValueError:
            continue
        current[(grant.rule, grant.address)] = grant
    return tuple(current.values())
