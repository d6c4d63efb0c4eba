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
from collections.abc import Callable, Iterable, Sequence
from types import ModuleType
from typing import Any

from app.config.repo import PathRule, RepoConfig
from app.core.errors import UnparseableError
from app.core.globs import gitignore_spec
from app.core.models import REDACTED, Change, FileDiff, Kind
from app.core.snapshot import ContextFile
from app.semdiff import governance, governance_effect
from app.semdiff.common import templating, text
from app.semdiff.common.documents import read_documents, structured_format
from app.semdiff.common.scope import is_terraform_module_file, module_dir
from app.semdiff.kubernetes import pr_context as kubernetes_pr
from app.semdiff.kubernetes import tooling
from app.semdiff.scoped import ScopedAnalysis, is_scoped
from app.semdiff.sql import python_migrations as sql_python
from app.semdiff.terraform import analyzer as terraform
from app.semdiff.terraform import libmodule

Analyzer = Callable[[FileDiff, PathRule], list[Change]]

ANALYZERS: dict[Kind, Analyzer] = {
    "terraform": terraform.analyze,
    "kubernetes": lambda file, rule: _kubernetes().analyze(file, rule),
    "pricing": lambda file, rule: _pricing().analyze(file, rule),
    "workflow": lambda file, rule: _workflow().analyze(file, rule),
    "governance": governance.analyze,
    "sql": lambda file, rule: _sql().analyze(file, rule),
    "data": tooling.analyze,  # generic data, or a kustomize/Helm/tool file read as one
    "text": lambda file, _rule: text.analyze(file),
}


def _sql() -> ModuleType:
    """The SQL analyzer, imported on first use: sqlglot alone costs ~0.2 s of start-up, which a
    `countersign analyze` of a change without SQL should not pay. The Kubernetes, pricing and
    workflow families are imported on first use too (tens of ms each: models, regexes); a
    one-file Terraform pre-flight imports only the Terraform analyzer."""
    from app.semdiff.sql import analyzer as sql

    return sql


def _kubernetes() -> ModuleType:
    from app.semdiff.kubernetes import objects

    return objects


def _pricing() -> ModuleType:
    from app.semdiff.pricing import analyzer

    return analyzer


def _workflow() -> ModuleType:
    from app.semdiff.workflow import analyzer

    return analyzer


WORKFLOW_PATHS = gitignore_spec([".github/workflows/*.yml", ".github/workflows/*.yaml"])
GOVERNANCE_PATHS = gitignore_spec(
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
    if fmt != "csv" and _kubernetes().detect(docs):
        return "kubernetes"
    if _pricing().detect(docs, rule):
        return "pricing"
    return "data"


def side_kinds(file: FileDiff, config: RepoConfig) -> tuple[Kind | None, Kind | None]:
    """The kind of each side, each judged on its own path and content (None: no such side).

    A side without content (an emptied manifest) or that cannot be read at all takes the other
    side's kind: it is that kind's file, emptied or broken, not a file of another kind.
    """
    base_path = file.old_path or file.path
    base = head = None
    if file.base is not None:
        one = FileDiff(path=base_path, status="removed", base=file.base)
        base = kind_for(one, config.rule_for(base_path))
    if file.head is not None:
        one = FileDiff(path=file.path, status="added", head=file.head)
        head = kind_for(one, config.rule_for(file.path))
    if base != head and base is not None and head is not None:
        if _no_documents(file.base, base_path):
            base = head
        elif _no_documents(file.head, file.path):
            head = base
    return base, head


def _no_documents(data: bytes | None, path: str) -> bool:
    """Empty, whitespace, comments only, or not readable as its structured format at all."""
    if data is None or not data.strip():
        return True
    fmt = structured_format(path)
    if fmt is None:
        return False
    try:
        return all(d.value is None for d in read_documents(data, fmt, path))
    except UnparseableError:
        return True


def analyze_file(file: FileDiff, config: RepoConfig, kind: Kind | None = None) -> list[Change]:
    """All changes in one file on its own; analysis problems become `unparseable` text changes."""
    rule = config.rule_for(file.path)
    kind = kind or kind_for(file, rule)
    changes: list[Change] = []
    if file.is_binary:
        changes.extend(text.unparseable(file, kind, text.binary_reason(file)))
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
            reason = exc.message if exc.line is None else str(exc)
            changes.extend(text.unparseable(file, kind, reason))
        except (RecursionError, MemoryError):
            changes.extend(text.unparseable(file, kind, "file too deeply nested or too large"))
        except Exception as exc:  # fail closed: an analyzer bug is a finding, not a crash
            reason = f"{kind} analyzer failed: {exc!r}"[:300]
            changes.extend(text.unparseable(file, kind, reason))
    rename = text.file_rename(file, kind)
    if rename and not any(c.address == file.path and c.op == "rename" for c in changes):
        # One file-level `rename`, unless the file-level change above already says it.
        changes.insert(0, rename)
    return [_with_context(c, rule, file) for c in changes]


def git_blob_id(data: bytes) -> str:
    """Git's blob id of `data` (what GitHub already shows for the file; reveals nothing more)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _has_redacted(change: Change) -> bool:
    return any(REDACTED in (f.before, f.after) for f in change.fields)


def _templated(file: FileDiff) -> bool:
    return any(side is not None and templating.has_actions(side) for side in (file.base, file.head))


def _with_context(change: Change, rule: PathRule, file: FileDiff | None) -> Change:
    extra: dict[str, Any] = {}
    if _has_redacted(change) and file is not None:
        # Redacted values all look alike: bind the change to the file's blob id so that a secret
        # rotated again after an approval is still a different change (approvals do not carry).
        side = file.head if file.head is not None else file.base
        if side is not None:
            extra["secret_blob"] = git_blob_id(side)
    if change.kind in ("kubernetes", "data") and file is not None and _templated(file):
        extra["templated"] = True  # values like `{{ .Values.image.tag }}` are shown as written
    if rule.environment and "environment" not in change.facts:
        extra["environment"] = rule.environment
    paths = [change.file, change.old_file] + ([file.old_path] if file is not None else [])
    if any(p is not None and is_governance_path(p) for p in paths):
        extra["governance"] = True
        extra.update(governance_effect.grade(change, file))  # routine CI edits vs the gate's
    terraform = "terraform" in (change.kind, change.facts.get("detected_kind"))
    if terraform and is_terraform_module_file(change.file) and "module_dir" not in change.facts:
        extra["module_dir"] = module_dir(change.file)
    if not extra:
        return change
    return change.model_copy(update={"facts": {**change.facts, **extra}})


def analyze_files(
    files: Iterable[FileDiff], config: RepoConfig, context_files: Sequence[ContextFile] = ()
) -> list[Change]:
    """The semantic diff of a whole change set, ordered by file then line.

    Terraform module files and Kubernetes manifests are judged over their identity scope (the
    module directory with its unchanged `context_files`, the whole PR); a file whose two sides
    are different kinds is analyzed as a deleted file of one kind and an added file of the other.
    """
    files = list(files)
    scoped = ScopedAnalysis(context_files)
    per_file: dict[str, list[Change]] = {}
    for slot, file in enumerate(files):
        found = per_file.setdefault(file.path, [])
        for part, kind in _parts(file, config):
            if kind is not None and is_scoped(kind, part):
                rule = config.rule_for(file.path)
                found.extend(_with_context(c, rule, part) for c in scoped.add(slot, part, kind))
            else:
                found.extend(analyze_file(part, config, kind))
    by_path = {f.path: f for f in files}
    objects: dict[str, list[Change]] = {}
    for change in scoped.changes():
        owner = by_path.get(change.file)
        with_context = _with_context(change, config.rule_for(change.file), owner)
        objects.setdefault(change.file, []).append(with_context)
    out: list[Change] = []
    for path in [*per_file, *(p for p in objects if p not in per_file)]:
        out += per_file.get(path, [])
        out += sorted(objects.get(path, []), key=lambda c: (c.line or 0, c.address))
    out = libmodule.annotate(out, files, context_files)  # a library's modules/<name>
    return kubernetes_pr.annotate(out, files, context_files)


def _parts(file: FileDiff, config: RepoConfig) -> list[tuple[FileDiff, Kind | None]]:
    """The file as one part of one kind, or its two sides as a deleted and an added file."""
    if file.is_binary or not file.complete:
        return [(file, None)]
    base, head = side_kinds(file, config)
    if base == head or base is None or head is None:
        return [(file, base or head)]
    gone = FileDiff(path=file.path, old_path=file.old_path, status="removed", base=file.base)
    new = FileDiff(path=file.path, status="added", head=file.head)
    return [(gone, base), (new, head)]
