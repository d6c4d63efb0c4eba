"""A rule's `match` block, compiled once: cheap checks that run before any CEL.

Keys are AND, the values of one key are OR. `type`, `address` and `field` are simple globs
(`*` any run of characters, `?` one character, everything else literal, so `containers[web]`
in a field path needs no escaping); `file` is `app.core.globs.file_spec` (gitignore style, `dir/**.json`
meaning any depth as in `.github/countersign.yml`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.core.globs import LazyGlob, PathSpec, file_spec
from app.core.models import Change

_FILE_CACHE_LIMIT = 20_000


@dataclass
class Matcher:
    """The static part of a rule. `None` for a key means "any"."""

    kinds: frozenset[str] | None = None
    ops: frozenset[str] | None = None
    types: LazyGlob | None = None
    addresses: LazyGlob | None = None
    files: PathSpec | None = None
    fields: LazyGlob | None = None
    environments: frozenset[str] | None = None
    _file_cache: dict[str, bool] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def build(
        cls,
        *,
        kind: Sequence[str] = (),
        op: Sequence[str] = (),
        type: Sequence[str] = (),
        address: Sequence[str] = (),
        file: Sequence[str] = (),
        field: Sequence[str] = (),
        environment: Sequence[str] = (),
    ) -> Matcher:
        return cls(
            kinds=frozenset(kind) or None,
            ops=frozenset(op) or None,
            types=LazyGlob(tuple(type)) if type else None,
            addresses=LazyGlob(tuple(address)) if address else None,
            files=file_spec(file) if file else None,
            fields=LazyGlob(tuple(field)) if field else None,
            environments=frozenset(environment) or None,
        )

    def match(self, change: Change) -> tuple[bool, str | None]:
        """(matched, the first matching field path — or the first field when no `field` key)."""
        if self.kinds is not None and change.kind not in self.kinds:
            return False, None
        if self.ops is not None and change.op not in self.ops:
            return False, None
        facts = change.facts
        if self.types is not None:
            candidates = (facts.get("resource_type"), facts.get("object_kind"))
            if not any(isinstance(c, str) and self.types.match(c) for c in candidates):
                return False, None
        if self.environments is not None and facts.get("environment") not in self.environments:
            return False, None
        if self.addresses is not None and not self.addresses.match(change.address):
            return False, None
        if self.files is not None and not self._file_matches(change.file):
            return False, None
        if self.fields is None:
            return True, change.fields[0].path if change.fields else None
        for fc in change.fields:
            if self.fields.match(fc.path):
                return True, fc.path
        return False, None

    def _file_matches(self, path: str) -> bool:
        hit = self._file_cache.get(path)
        if hit is None:
            assert self.files is not None
            if len(self._file_cache) > _FILE_CACHE_LIMIT:
                self._file_cache.clear()
            hit = self._file_cache[path] = bool(self.files.match_file(path))
        return hit
