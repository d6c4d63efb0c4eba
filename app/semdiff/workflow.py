"""The GitHub Actions workflow analyzer: what a change to `.github/workflows/*.yml` does to the
triggers, token permissions, secrets and third-party code a workflow runs.

A workflow is two kinds of object: `workflow` (everything but `jobs`: triggers, permissions, env,
concurrency…) and `job.<id>` per job. Facts are what a reviewer of CI changes looks for: a new
`pull_request_target` trigger, broader token permissions, new secrets, and actions that are not
pinned to a commit SHA (a moving tag lets a third party change the code that sees our secrets).
The `workflow` change carries facts for the whole file; a job change for that job (its effective
permissions are its own, or the workflow's when it sets none). Every change also carries the
file's `triggers` and `pull_request_target`, since they decide what a job's secrets are exposed to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from app.errors import UnparseableError
from app.models import Change, FieldChange, FileDiff, Op
from app.repo_config import PathRule
from app.semdiff.data import diff_tree, key_line, order_change, read_side
from app.semdiff.structure import KeyChooser, default_list_key
from app.yamlsafe import YamlDocument

__all__ = ["analyze", "permissions_broadened", "unpinned"]

DEFAULT = "default"  # no `permissions` key: the repository's default token permissions
RANK = {"none": 0, "read": 1, "write": 2}
# Scopes of the GITHUB_TOKEN; `read-all` / `write-all` set every one of them.
SCOPES = (
    "actions", "attestations", "checks", "contents", "deployments", "discussions", "id-token",
    "issues", "models", "packages", "pages", "pull-requests", "repository-projects",
    "security-events", "statuses",
)  # fmt: skip
# GitHub's restricted default, the baseline when a file that had no `permissions` adds some.
RESTRICTED_DEFAULT = {"contents": "read", "packages": "read"}
FIRST_PARTY = frozenset({"actions", "github"})
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_SECRET_REF = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])"
)
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")

Permissions = str | dict[str, str]


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """`workflow` and `job.<id>` changes of one workflow file."""
    del rule
    base_source = file.old_path or file.path
    base_doc, head_doc = _read(file.base, base_source), _read(file.head, file.path)
    before = _mapping(file.base is not None, base_doc, base_source)
    after = _mapping(file.head is not None, head_doc, file.path)
    file_facts = _trigger_facts(after)
    out: list[Change] = []
    top_b = {k: v for k, v in (before or {}).items() if k != "jobs"}
    top_a = {k: v for k, v in (after or {}).items() if k != "jobs"}
    fields = _diff(top_b, top_a, default_list_key)
    op = _op(before is not None, after is not None)
    if fields or op != "update":
        facts = {**file_facts, **_scope_facts(before, after, _top_perms(before), _top_perms(after))}
        first = _first_line(head_doc if op != "delete" else base_doc)
        out.append(_change(file.path, "workflow", op, fields, facts, first))
    jobs_b = _jobs(before, base_doc, base_source)
    jobs_a = _jobs(after, head_doc, file.path)
    for job_id in sorted({*jobs_b, *jobs_a}, key=str):
        job_b, job_a = jobs_b.get(job_id), jobs_a.get(job_id)
        op = _op(job_id in jobs_b, job_id in jobs_a)
        fields = _job_fields(job_b, job_a)
        if not fields and op == "update":
            continue
        perms_b = _job_perms(job_b, before) if job_id in jobs_b else None
        perms_a = _job_perms(job_a, after) if job_id in jobs_a else None
        facts = {**file_facts, "job": job_id, **_scope_facts(job_b, job_a, perms_b, perms_a)}
        doc = head_doc if op != "delete" else base_doc
        line = key_line(doc.node, ("jobs", job_id)) if doc is not None else None
        out.append(_change(file.path, f"job.{job_id}", op, fields, facts, line))
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out


def _job_fields(before: Any, after: Any) -> list[FieldChange]:
    """Steps are matched by `id`, else `name`, when every step of each side has a unique one;
    steps run in order, so a reorder of matched steps is reported as `steps.order`."""
    steps_b, steps_a = _get(before, "steps"), _get(after, "steps")
    step_key = next(
        (
            field
            for field in ("id", "name")
            if all(_unique_field(steps, field) for steps in (steps_b, steps_a) if steps is not None)
        ),
        None,
    )

    def choose(path: str, items: Sequence[Any]) -> str | None:
        return step_key if path == "steps" else default_list_key(path, items)

    fields = _diff(before, after, choose)
    moved = order_change("steps", steps_b, steps_a, step_key) if step_key else None
    return [*fields, moved] if moved else fields


def _read(data: bytes | None, source: str) -> YamlDocument | None:
    docs = read_side(data, "yaml", source)
    if len(docs) > 1:
        raise UnparseableError(
            "a workflow file holds one YAML document, found several",
            file=source,
            line=docs[1].line,
            hint="remove the extra `---` document",
        )
    return docs[0] if docs else None


def _mapping(exists: bool, doc: YamlDocument | None, source: str) -> dict[str, Any] | None:
    """The workflow mapping; an empty existing file reads as `{}`, a missing side as None."""
    if doc is None:
        return {} if exists else None
    if not isinstance(doc.value, dict):
        raise UnparseableError(
            "a workflow must be a mapping (name, on, jobs…)", file=source, line=doc.line
        )
    return {str(k): v for k, v in doc.value.items()}


def _jobs(workflow: dict[str, Any] | None, doc: YamlDocument | None, source: str) -> dict[str, Any]:
    jobs = (workflow or {}).get("jobs")
    if jobs is None:
        return {}
    if not isinstance(jobs, dict):
        line = key_line(doc.node, ("jobs",)) if doc is not None else None
        raise UnparseableError("`jobs` must be a mapping of job ids", file=source, line=line)
    return {str(k): v for k, v in jobs.items()}


def _op(in_before: bool, in_after: bool) -> Op:
    if not in_before:
        return "create"
    if not in_after:
        return "delete"
    return "update"


def _first_line(doc: YamlDocument | None) -> int:
    if doc is None:
        return 1
    for key in ("on", "name"):
        line = key_line(doc.node, (key,))
        if line:
            return line
    return doc.line


def _change(
    path: str,
    address: str,
    op: Op,
    fields: list[FieldChange],
    facts: dict[str, Any],
    line: int | None,
) -> Change:
    return Change(
        file=path,
        kind="workflow",
        address=address,
        op=op,
        fields=tuple(fields),
        facts=facts,
        line=line or 1,
    )


def _diff(before: Any, after: Any, list_key: KeyChooser) -> list[FieldChange]:
    """Fields of a workflow or job. Token `permissions` levels and `secrets: inherit` are not
    secrets (though `id-token` and `secrets` sound like them), so they are compared here, not
    redacted; a `secrets:` mapping stays redacted. A trigger `push:` (null) means `push: {}`."""
    plain = ["permissions"]
    if not isinstance(_get(before, "secrets"), dict) and not isinstance(
        _get(after, "secrets"), dict
    ):
        plain.append("secrets")
    out = diff_tree(_without(before, plain), _without(after, plain), list_key=list_key)
    for key in plain:
        old, new = _get(before, key), _get(after, key)
        if isinstance(old, dict | None) and isinstance(new, dict | None) and (old or new):
            b, a = old or {}, new or {}
            out.extend(
                FieldChange(path=f"{key}.{scope}", before=b.get(scope), after=a.get(scope))
                for scope in sorted({*b, *a}, key=str)
                if b.get(scope) != a.get(scope)
            )
        elif old != new:
            out.append(FieldChange(path=key, before=old, after=new))
    return sorted(out, key=lambda f: f.path)


def _without(value: Any, keys: Sequence[str]) -> Any:
    if not isinstance(value, dict):
        return value
    out = {k: v for k, v in value.items() if k not in keys}
    on = out.get("on")
    if isinstance(on, dict):
        out["on"] = {k: {} if v is None else v for k, v in on.items()}
    return out


def _unique_field(steps: Any, field: str) -> bool:
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        return False
    values = [s.get(field) for s in steps]
    return all(isinstance(v, str) for v in values) and len(set(values)) == len(values)


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


# -- facts -----------------------------------------------------------------------------------


def _trigger_facts(workflow: dict[str, Any] | None) -> dict[str, Any]:
    on = _get(workflow, "on")
    if isinstance(on, str):
        triggers = [on]
    elif isinstance(on, list):
        triggers = [str(t) for t in on]
    elif isinstance(on, dict):
        triggers = [str(t) for t in on]
    else:
        triggers = []
    triggers = sorted(set(triggers))
    return {"triggers": triggers, "pull_request_target": "pull_request_target" in triggers}


def _normalize(value: Any) -> Permissions:
    if value is None:
        return DEFAULT
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    return str(value)


def _top_perms(workflow: dict[str, Any] | None) -> Permissions | None:
    if workflow is None:
        return None
    return _normalize(workflow.get("permissions"))


def _job_perms(job: Any, workflow: dict[str, Any] | None) -> Permissions | None:
    """A job's effective permissions: its own, else the workflow's."""
    if isinstance(job, dict) and job.get("permissions") is not None:
        return _normalize(job["permissions"])
    return _top_perms(workflow) or DEFAULT


def _rank(perms: Permissions, scope: str) -> int:
    if perms == "write-all":
        return 2
    if perms == "read-all":
        return 1
    if isinstance(perms, dict):
        return RANK.get(perms.get(scope, "none"), 2)  # an unknown level is assumed the worst
    if perms == DEFAULT:
        return RANK[RESTRICTED_DEFAULT.get(scope, "none")]
    return 2


def permissions_broadened(before: Permissions | None, after: Permissions | None) -> bool:
    """True when the token can do more after: a scope rises (none→read→write), the whole token
    becomes `write-all`, or explicit permissions are dropped for the (unknown) repo default."""
    if after is None:
        return False
    before = DEFAULT if before is None else before
    if after == before:
        return False
    if after == "write-all":
        return True
    if after == DEFAULT:
        return before != "write-all"
    scopes = set(SCOPES)
    for side in (before, after):
        if isinstance(side, dict):
            scopes |= set(side)
    return any(_rank(after, s) > _rank(before, s) for s in scopes)


def _scope_facts(
    before: Any, after: Any, perms_before: Permissions | None, perms_after: Permissions | None
) -> dict[str, Any]:
    secrets_before = _secrets(before)
    secrets_after = _secrets(after)
    actions = sorted(set(_uses(after)))
    return {
        "permissions_before": perms_before,
        "permissions_after": perms_after,
        "permissions_broadened": permissions_broadened(perms_before, perms_after),
        "secrets_used": sorted(secrets_after),
        "new_secrets": sorted(secrets_after - secrets_before),
        "secrets_inherit": _inherits_secrets(after),
        "actions": actions,
        "unpinned_actions": [a for a in actions if unpinned(a)],
    }


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _secrets(value: Any) -> set[str]:
    """Names referenced as `${{ secrets.X }}` / `${{ secrets['X'] }}` anywhere in `value`."""
    out: set[str] = set()
    for text in _strings(value):
        for expression in _EXPRESSION.findall(text):
            for dotted, indexed in _SECRET_REF.findall(expression):
                out.add(dotted or indexed)
    return out


def _inherits_secrets(value: Any) -> bool:
    """A reusable-workflow call with `secrets: inherit` hands it every secret."""
    jobs = _get(value, "jobs")
    candidates = list(jobs.values()) if isinstance(jobs, dict) else [value]
    return any(_get(job, "secrets") == "inherit" for job in candidates)


def _uses(value: Any) -> list[str]:
    """Every `uses:` of a job (reusable workflow) or step, in a job or a whole workflow."""
    jobs = _get(value, "jobs")
    candidates = list(jobs.values()) if isinstance(jobs, dict) else [value]
    out: list[str] = []
    for job in candidates:
        if isinstance(_get(job, "uses"), str):
            out.append(job["uses"])
        steps = _get(job, "steps")
        for step in steps if isinstance(steps, list) else []:
            if isinstance(_get(step, "uses"), str):
                out.append(step["uses"])
    return out


def unpinned(uses: str) -> bool:
    """A third-party action or reusable workflow not pinned to a full commit SHA."""
    ref = uses.strip()
    if ref.startswith("./") or ref.startswith("docker://"):
        return False
    target, _, version = ref.partition("@")
    owner = target.split("/", 1)[0].lower()
    if owner in FIRST_PARTY:
        return False
    return not _SHA.match(version)
