"""Route each changed file to the analyzer for its kind, and never let one file crash the run.

Kind comes from the repo config first (a `paths` entry's `kind`), then from well-known paths
(workflows, governance files, `.tf`, `.sql`, Alembic/Django migrations, kustomizations), then from
content (kustomize/Helm/tool files are `data`, see `tooling`; then Kubernetes objects, price
books), then `data` for any other JSON/YAML/CSV and `text` for everything else. A file its analyzer cannot
parse becomes a `text` change carrying `facts.unparseable`, which the risk step turns into an
`analysis.unparseable` finding: the evaluation fails closed, it does not stop.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

import pathspec

from app.errors import UnparseableError
from app.models import REDACTED, Change, FileDiff, Kind
from app.repo_config import PathRule, RepoConfig
from app.semdiff import (
    governance,
    kubernetes,
    pricing,
    sql,
    sql_python,
    templating,
    terraform,
    text,
    tooling,
    workflow,
)
from app.semdiff.documents import read_documents, structured_format

Analyzer = Callable[[FileDiff, PathRule], list[Change]]

ANALYZERS: dict[Kind, Analyzer] = {
    "terraform": terraform.analyze,
    "kubernetes": kubernetes.analyze,
    "pricing": pricing.analyze,
    "workflow": workflow.analyze,
    "governance": governance.analyze,
    "sql": sql.analyze,
    "data": tooling.analyze,  # generic data, or a kustomize/Helm/tool file read as one
    "text": lambda file, _rule: text.analyze(file),
}

WORKFLOW_PATHS = pathspec.PathSpec.from_lines(
    "gitignore", [".github/workflows/*.yml", ".github/workflows/*.yaml"]
)
GOVERNANCE_PATHS = pathspec.PathSpec.from_lines(
    "gitignore",
    [
        "/CODEOWNERS",
        "/.github/CODEOWNERS",
        "/docs/CODEOWNERS",
        "/.github/countersign.yml",
        "/.github/countersign.yaml",
        "/policies/**",
        "/risk_rules/**",
        "/.github/settings.yml",
        "/.github/rulesets/**",
        "/.github/dependabot.yml",
        "/.ci/**",
    ],
)


def is_governance_path(path: str) -> bool:
    """Files that decide who may change what: an agent must not edit its own gate."""
    return GOVERNANCE_PATHS.match_file(path) or WORKFLOW_PATHS.match_file(path)


def kind_for(file: FileDiff, rule: PathRule) -> Kind:
    """Decide the analyzer for a file (see module docstring for the order)."""
    if rule.kind:
        return rule.kind
    path = file.path
    if WORKFLOW_PATHS.match_file(path):
        return "workflow"
    if GOVERNANCE_PATHS.match_file(path):
        return "governance"
    lower = path.lower()
    if lower.endswith((".tf", ".tf.json", ".tfvars")):
        return "terraform"
    if lower.endswith(".sql") or sql_python.is_python_migration(path, file.head or file.base):
        return "sql"
    if tooling.is_kustomization_path(path):
        return "data"
    fmt = structured_format(path)
    if fmt is None:
        return "text"
    if not file.complete:
        return "data"
    sample = file.head if file.head is not None else file.base
    if sample is None:
        return "data"
    try:
        docs = read_documents(sample, fmt, path)
    except UnparseableError:
        return "data"
    if fmt == "yaml" and tooling.format_for(path, docs) is not None:
        return "data"  # kustomize, Helm and tool config files are not cluster objects
    if fmt != "csv" and kubernetes.detect(docs):
        return "kubernetes"
    if pricing.detect(docs, rule):
        return "pricing"
    return "data"


def _unparseable(file: FileDiff, kind: Kind, reason: str) -> list[Change]:
    changes = text.analyze(file, unparseable=reason, detected_kind=kind)
    if changes:
        return changes
    # Identical bytes never reach here; keep the marker even if the text diff is empty.
    return [
        Change(
            file=file.path,
            kind="text",
            address=file.path,
            op=text.op_for(file),
            facts={"unparseable": reason, "detected_kind": kind},
            line=1,
        )
    ]


def analyze_file(file: FileDiff, config: RepoConfig) -> list[Change]:
    """All changes in one file; analysis problems become `unparseable` text changes."""
    rule = config.rule_for(file.path)
    kind = kind_for(file, rule)
    changes: list[Change] = []
    if file.status == "renamed" and file.old_path and file.old_path != file.path:
        changes.append(
            Change(
                file=file.path,
                kind=kind,
                address=file.path,
                op="rename",
                old_file=file.old_path,
                fields=(),
                facts={"renamed_from": file.old_path},
                line=1,
            )
        )
    if file.is_binary:
        changes.extend(_unparseable(file, kind, "binary content cannot be reviewed semantically"))
    elif kind != "text" and not file.complete:
        changes.extend(text.analyze(file, kind=kind))
    else:
        try:
            found = ANALYZERS[kind](file, rule)
            if not found and file.status in ("added", "removed") and kind != "text":
                # An added or deleted file with no objects (empty, comments only) is still a
                # file-level change a reviewer must see.
                found = text.analyze(file, kind=kind)
            changes.extend(found)
        except UnparseableError as exc:
            changes.extend(_unparseable(file, kind, exc.message if exc.line is None else str(exc)))
        except (RecursionError, MemoryError):
            changes.extend(_unparseable(file, kind, "file too deeply nested or too large"))
        except Exception as exc:  # fail closed: an analyzer bug is a finding, not a crash
            changes.extend(_unparseable(file, kind, f"{kind} analyzer failed: {exc!r}"[:300]))
    return [_with_context(c, rule, file) for c in changes]


def git_blob_id(data: bytes) -> str:
    """Git's blob id of `data` (what GitHub already shows for the file; reveals nothing more)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _has_redacted(change: Change) -> bool:
    return any(REDACTED in (f.before, f.after) for f in change.fields)


def _templated(file: FileDiff) -> bool:
    return any(side is not None and templating.has_actions(side) for side in (file.base, file.head))


def _with_context(change: Change, rule: PathRule, file: FileDiff) -> Change:
    extra: dict[str, Any] = {}
    if _has_redacted(change):
        # Redacted values all look alike: bind the change to the file's blob id so that a secret
        # rotated again after an approval is still a different change (approvals do not carry).
        side = file.head if file.head is not None else file.base
        if side is not None:
            extra["secret_blob"] = git_blob_id(side)
    if change.kind in ("kubernetes", "data") and _templated(file):
        extra["templated"] = True  # values like `{{ .Values.image.tag }}` are shown as written
    if rule.environment and "environment" not in change.facts:
        extra["environment"] = rule.environment
    if is_governance_path(file.path) or (
        file.old_path is not None and is_governance_path(file.old_path)
    ):
        extra["governance"] = True
    if not extra:
        return change
    return change.model_copy(update={"facts": {**change.facts, **extra}})


def analyze_files(files: Iterable[FileDiff], config: RepoConfig) -> list[Change]:
    """The semantic diff of a whole change set, ordered by file then line."""
    out: list[Change] = []
    for file in files:
        out.extend(analyze_file(file, config))
    return out
