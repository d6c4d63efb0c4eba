"""Who is behind a handle, and what an approver vouched for (their scope and its digest).

Approvals bind to content, not commits (docs/adr/0003-tiers-and-approvals.md): an approval given at an
earlier commit still counts when the semantic changes in the approver's scope are the same now as
then. The digest leaves out line numbers, so a rebase that only moves code keeps the approval, and
it covers only the approver's scope, so an edit elsewhere keeps it too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.core.models import Change
from app.core.report import ScopeChange
from app.gate.owners import CodeOwnersMap


def team_key(handle: str) -> str:
    """`@Acme/Platform` → `acme/platform`, the form `team_members` is keyed by."""
    return handle.lstrip("@").lower()


class Directory:
    """Resolves `@user` and `@org/team` handles to logins; GitHub logins are case-insensitive."""

    def __init__(self, team_members: Mapping[str, Iterable[str]]) -> None:
        self._teams: dict[str, frozenset[str]] = {}
        for team, members in team_members.items():
            key = team_key(team)
            self._teams[key] = self._teams.get(key, frozenset()) | {m.lower() for m in members}

    def matches(self, login: str, handle: str) -> bool:
        """Whether `login` is `handle` or a member of it (emails never match a login)."""
        if not handle.startswith("@"):
            return False
        if "/" in handle:
            return login.lower() in self._teams.get(team_key(handle), frozenset())
        return handle[1:].lower() == login.lower()

    def any_match(self, login: str, handles: Iterable[str]) -> bool:
        return any(self.matches(login, h) for h in handles)

    def teams_of(self, login: str) -> tuple[str, ...]:
        """The known teams `login` belongs to, as `@org/team`, sorted."""
        who = login.lower()
        return tuple(sorted(f"@{team}" for team, members in self._teams.items() if who in members))


@dataclass(frozen=True)
class ApproverScope:
    """What one approver is answerable for.

    Their CODEOWNERS files (directly or through a team), the kinds whose domain team they are in,
    everything if they sit on the change board, and every unowned file: nobody else answers for
    those, so a change there must void anyone's approval (fail closed; with no owners at all this
    is "everything").
    """

    login: str
    owners: CodeOwnersMap
    directory: Directory
    domain_kinds: frozenset[str] = frozenset()
    everything: bool = False

    def covers(self, change: Change) -> bool:
        if self.everything or change.kind in self.domain_kinds:
            return True
        paths = [change.file] + ([change.old_file] if change.old_file else [])
        for path in paths:
            owners = self.owners.owners_for(path)
            if not owners or self.directory.any_match(self.login, owners):
                return True
        return False


def canonical_change(change: Change) -> dict[str, Any]:
    """The meaning of a change without its position: no `line`, fields in a stable order."""
    fields = sorted(
        (f.model_dump(mode="json") for f in change.fields),
        key=lambda f: json.dumps(f, sort_keys=True, default=str),
    )
    return {
        "file": change.file,
        "old_file": change.old_file,
        "kind": change.kind,
        "address": change.address,
        "op": change.op,
        "fields": fields,
        "facts": change.facts,
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def scope_digest(changes: Iterable[Change], scope: ApproverScope) -> str:
    """sha256 of the canonical JSON of the in-scope changes, sorted."""
    items = sorted(_dumps(canonical_change(c)) for c in changes if scope.covers(c))
    return hashlib.sha256(("[" + ",".join(items) + "]").encode()).hexdigest()


def scope_changes(
    before: Sequence[Change], after: Sequence[Change], scope: ApproverScope
) -> tuple[ScopeChange, ...]:
    """What differs in `scope` between two evaluations, per object (file, kind, address).

    The same comparison as `scope_digest` (line numbers left out), itemised so a reviewer can see
    why their approval was voided; sorted by file and address.
    """

    def by_object(changes: Iterable[Change]) -> dict[tuple[str, str, str], list[str]]:
        out: dict[tuple[str, str, str], list[str]] = {}
        for c in changes:
            if scope.covers(c):
                out.setdefault((c.file, c.kind, c.address), []).append(_dumps(canonical_change(c)))
        return {key: sorted(items) for key, items in out.items()}

    old, new = by_object(before), by_object(after)
    ops_old: dict[tuple[str, str, str], str] = {(c.file, c.kind, c.address): c.op for c in before}
    ops_new: dict[tuple[str, str, str], str] = {(c.file, c.kind, c.address): c.op for c in after}
    return tuple(
        ScopeChange(
            file=key[0],
            kind=key[1],
            address=key[2],
            before=ops_old.get(key) if key in old else None,
            after=ops_new.get(key) if key in new else None,
        )
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
    )
