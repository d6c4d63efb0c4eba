"""The governance analyzer: edits to the files that decide who may change what (CODEOWNERS,
Countersign's own config, policies, risk rules, repository settings, rulesets, CI).

An agent that edits its own gate is the most dangerous change there is, so every change here
carries `governance: true` and names the file's role. CODEOWNERS is compared per pattern line,
with ownership order checked too: the last matching pattern wins, so moving a line can hand a
path to other owners without editing either line. YAML/JSON files are compared by key path
(comments, key order and whitespace are no change); anything else falls back to a line count.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.nodes import MappingNode

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FieldChange, FileDiff
from app.core.text import decode_text
from app.core.yamlsafe import line_of
from app.semdiff.common import text
from app.semdiff.common.documents import read_documents, structured_format
from app.semdiff.common.structure import diff_values, presence_op

__all__ = ["analyze", "governance_file", "parse_codeowners"]

_ROLES: tuple[tuple[str, str], ...] = (
    ("CODEOWNERS", "codeowners"),
    (".github/countersign.yml", "countersign_config"),
    (".github/countersign.yaml", "countersign_config"),
    (".github/settings.yml", "repository_settings"),
    (".github/dependabot.yml", "dependabot"),
    (".github/rulesets/", "rulesets"),
    (".github/workflows/", "workflows"),
    ("policies/", "policies"),
    ("risk_rules/", "risk_rules"),
    (".ci/", "ci"),
)
_INLINE_COMMENT = re.compile(r"\s#.*$")
_FIELDS = re.compile(r"(?:\\.|\S)+")


def governance_file(path: str) -> str:
    """The role of a governance file (`codeowners`, `policies`…), `other` if unknown."""
    if posixpath.basename(path) == "CODEOWNERS":
        return "codeowners"
    for prefix, role in _ROLES:
        if path == prefix or (prefix.endswith("/") and path.startswith(prefix)):
            return role
    return "other"


@dataclass(frozen=True)
class OwnerRule:
    """One CODEOWNERS line: pattern, owners in written order, 1-based line, position."""

    pattern: str
    owners: tuple[str, ...]
    line: int
    position: int


def parse_codeowners(content: str) -> dict[str, OwnerRule]:
    """Pattern → its effective rule. A repeated pattern keeps its last line, as GitHub does."""
    rules: dict[str, OwnerRule] = {}
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = _INLINE_COMMENT.sub("", line)  # `*.js @a # ask @bob`: the comment owns nothing
        pattern, *owners = _FIELDS.findall(line)
        rules.pop(pattern, None)
        rules[pattern] = OwnerRule(pattern, tuple(owners), number, 0)
    # Position = rank in effective order (insertion order, a repeated pattern counting last).
    return {p: OwnerRule(p, r.owners, r.line, i) for i, (p, r) in enumerate(rules.items())}


def _owner_set(rule: OwnerRule | None) -> set[str]:
    return {o.lower() for o in rule.owners} if rule else set()


def _moved(before: dict[str, OwnerRule], after: dict[str, OwnerRule]) -> set[str]:
    """Patterns kept on both sides whose relative order changed (outside the longest run)."""
    common = [p for p in before if p in after]
    head_order = sorted(common, key=lambda p: after[p].position)
    matcher = difflib.SequenceMatcher(None, common, head_order, autojunk=False)
    kept = {common[b.a + i] for b in matcher.get_matching_blocks() for i in range(b.size)}
    return set(common) - kept


def _codeowners(file: FileDiff, role: str) -> list[Change]:
    before = parse_codeowners(decode_text(file.base, file.path)) if file.base is not None else {}
    after = parse_codeowners(decode_text(file.head, file.path)) if file.head is not None else {}
    moved = _moved(before, after)
    out: list[Change] = []
    for pattern in list(after) + [p for p in before if p not in after]:
        old, new = before.get(pattern), after.get(pattern)
        owners_changed = _owner_set(old) != _owner_set(new)
        if old is not None and new is not None and not owners_changed and pattern not in moved:
            continue
        op = presence_op(old is not None, new is not None)
        fields: list[FieldChange] = []
        if owners_changed or op != "update":
            fields.append(
                FieldChange(
                    path="owners",
                    before=list(old.owners) if old else None,
                    after=list(new.owners) if new else None,
                )
            )
        if pattern in moved and old is not None and new is not None:
            fields.append(FieldChange(path="position", before=old.position, after=new.position))
        facts: dict[str, Any] = {
            "governance": True,
            "governance_file": role,
            "pattern": pattern,
            "owners_before": list(old.owners) if old else None,
            "owners_after": list(new.owners) if new else None,
            "owners_added": sorted(_owner_set(new) - _owner_set(old)),
            "owners_removed": sorted(_owner_set(old) - _owner_set(new)),
            "unowned": new is not None and not new.owners,
            "reordered": pattern in moved,
        }
        where = new or old
        out.append(
            Change(
                file=file.path,
                kind="governance",
                address=f"codeowners:{pattern}",
                op=op,
                fields=tuple(fields),
                facts=facts,
                line=where.line if where else None,
            )
        )
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out


def _value(data: bytes | None, path: str) -> tuple[Any, Any, str]:
    """(value, YAML node or None, raw text) of one side of a YAML/JSON governance file."""
    if data is None:
        return None, None, ""
    fmt = structured_format(path)
    if fmt is None or fmt == "csv":  # pragma: no cover - the caller sends only YAML/JSON
        raise UnparseableError("not a YAML or JSON file", file=path)
    docs = [d for d in read_documents(data, fmt, path) if d.value is not None]
    if len(docs) > 1:
        return [d.value for d in docs], None, decode_text(data, path)
    if not docs:
        return None, None, decode_text(data, path)
    return docs[0].value, docs[0].node, decode_text(data, path)


def _key_line(node: Any, raw: str, key: str) -> int | None:
    if isinstance(node, MappingNode):  # the key's own line, not its value's
        return line_of(node, (key,), key=True)
    match = re.search(re.escape(json.dumps(key)) + r"\s*:", raw)
    return raw.count("\n", 0, match.start()) + 1 if match else None


def _structured(file: FileDiff, role: str) -> list[Change]:
    old, old_node, old_raw = _value(file.base, file.old_path or file.path)
    new, new_node, new_raw = _value(file.head, file.path)
    facts = {"governance": True, "governance_file": role}
    if not (isinstance(old, dict | None) and isinstance(new, dict | None)):
        fields = diff_values(old, new)
        if not fields:
            return []
        return [
            Change(
                file=file.path,
                kind="governance",
                address=file.path,
                op=text.op_for(file),
                fields=tuple(fields),
                facts=facts,
                line=1,
            )
        ]
    before, after = old or {}, new or {}
    out: list[Change] = []
    for key in list(after) + [k for k in before if k not in after]:
        name = str(key)
        fields = diff_values(before.get(key), after.get(key), name)
        if not fields:
            continue
        op = presence_op(key in before, key in after)
        line = (
            _key_line(new_node, new_raw, name)
            if key in after
            else _key_line(old_node, old_raw, name)
        )
        out.append(
            Change(
                file=file.path,
                kind="governance",
                address=f"{file.path}:{name}",
                op=op,
                fields=tuple(fields),
                facts=dict(facts),
                line=line,
            )
        )
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """Per-pattern CODEOWNERS changes, key-path changes for YAML/JSON, else a line count."""
    del rule  # governance files are recognised by path; no per-path settings apply
    role = governance_file(file.path)
    if role == "codeowners":
        return _codeowners(file, role)
    if structured_format(file.path) in ("yaml", "json"):
        return _structured(file, role)
    return text.analyze(file, kind="governance", governance=True, governance_file=role)
