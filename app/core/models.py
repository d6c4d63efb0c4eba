"""Core data shared by the pure pipeline: what changed, in which file, and what it means.

These are frozen value objects so analyzers, rules and policies can pass them around without
defensive copies; the report JSON (docs/adr/0002-report-contract.md, schema_version 1) is rendered from them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Kind = Literal[
    "terraform", "kubernetes", "pricing", "workflow", "governance", "sql", "data", "text"
]
Op = Literal["create", "update", "delete", "rename", "replace"]
Severity = Literal["info", "low", "medium", "high", "critical"]
FileStatus = Literal["added", "modified", "removed", "renamed"]

KINDS: tuple[Kind, ...] = (
    "terraform",
    "kubernetes",
    "pricing",
    "workflow",
    "governance",
    "sql",
    "data",
    "text",
)
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")

REDACTED = "<redacted>"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldChange(Frozen):
    """One leaf (or subtree) that differs; `path` is dotted, list items keyed as `containers[web]`."""

    path: str
    before: Any = None
    after: Any = None


class Change(Frozen):
    """One semantic change to one object inside one file.

    `address` identifies the object (Terraform `type.name`, Kubernetes `Kind/ns/name`, pricing
    `key:value`, data key path, or the file itself). `line` is the 1-based line of the object on
    the head side (base side for deletes) so findings can become check-run annotations.
    """

    file: str
    kind: Kind
    address: str
    op: Op
    fields: tuple[FieldChange, ...] = ()
    facts: dict[str, Any] = Field(default_factory=dict)
    line: int | None = None
    old_file: str | None = None

    @property
    def unparseable(self) -> str | None:
        """The reason this file could not be analysed structurally, if it could not."""
        reason = self.facts.get("unparseable")
        return str(reason) if reason else None


class FileDiff(Frozen):
    """A changed file as both sides see it.

    `base`/`head` are raw bytes (None when the side does not exist or is unknown); `patch` is the
    unified-diff text of the file when that is all we have (`analyze --diff`, or GitHub's patch).
    `complete` is False when the contents were reconstructed from hunks only.
    """

    path: str
    old_path: str | None = None
    status: FileStatus = "modified"
    base: bytes | None = None
    head: bytes | None = None
    patch: str | None = None
    complete: bool = True
    binary: bool = False

    @property
    def is_binary(self) -> bool:
        """Binary content cannot be reviewed semantically: it is always `unparseable`."""
        return (
            self.binary
            or b"\x00" in (self.base or b"")[:8192]
            or b"\x00" in (self.head or b"")[:8192]
        )
