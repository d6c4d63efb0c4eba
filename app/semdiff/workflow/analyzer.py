"""The GitHub Actions workflow analyzer: what a change to `.github/workflows/*.yml` does to the
triggers, token permissions, secrets and third-party code a workflow runs.

A workflow is two kinds of object: `workflow` (everything but `jobs`: triggers, permissions, env,
concurrency…) and `job.<id>` per job. Steps are matched by identity (workflow_steps), so a SHA
bump of `- uses: actions/checkout@…` is one field change. Facts are what a reviewer of CI changes
looks for (workflow_facts, workflow_permissions): a new `pull_request_target` trigger and whether
it checks out fork code, token permissions against their previous explicit value, `id-token:
write`, new secrets and `secrets: inherit`, untrusted input pasted into scripts, and actions not
pinned to a commit SHA. The `workflow` change carries facts for the whole file; a job change for
that job. Every change also carries the file's `triggers` and `pull_request_target`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import Change, FieldChange, FileDiff, Op
from app.core.yamlsafe import YamlDocument, line_of
from app.semdiff.common.data import diff_tree, read_side
from app.semdiff.common.structure import KeyChooser, default_list_key, presence_op
from app.semdiff.workflow.facts import (
    checks_out_code,
    checks_out_pr_head,
    field_of,
    inherits_secrets,
    script_injections,
    secrets,
    unpinned,
    uses,
)
from app.semdiff.workflow.permissions import (
    Permissions,
    effective,
    level,
    normalize,
    permissions_broadened,
    permissions_change,
    write_scopes_added,
)
from app.semdiff.workflow.steps import diff_steps

__all__ = ["Permissions", "analyze", "permissions_broadened", "unpinned"]


def analyze(file: FileDiff, rule: PathRule) -> list[Change]:
    """`workflow` and `job.<id>` changes of one workflow file."""
    del rule
    base_source = file.old_path or file.path
    base_doc, head_doc = _read(file.base, base_source), _read(file.head, file.path)
    before = _mapping(file.base is not None, base_doc, base_source)
    after = _mapping(file.head is not None, head_doc, file.path)
    file_facts = {**_trigger_facts(after), "workflow_template": _template(file.path)}
    base_target = bool(_trigger_facts(before)["pull_request_target"])
    out: list[Change] = []
    top_b = {k: v for k, v in (before or {}).items() if k != "jobs"}
    top_a = {k: v for k, v in (after or {}).items() if k != "jobs"}
    fields = _diff(top_b, top_a, default_list_key)
    op = presence_op(before is not None, after is not None)
    if fields or op != "update":
        facts = _with_pr_target(
            file_facts,
            base_target,
            _scope_facts(before, after, _top_perms(before), _top_perms(after)),
        )
        first = _first_line(head_doc if op != "delete" else base_doc)
        out.append(_change(file.path, "workflow", op, fields, facts, first))
    jobs_b = _jobs(before, base_doc, base_source)
    jobs_a = _jobs(after, head_doc, file.path)
    for job_id in sorted({*jobs_b, *jobs_a}, key=str):
        job_b, job_a = jobs_b.get(job_id), jobs_a.get(job_id)
        op = presence_op(job_id in jobs_b, job_id in jobs_a)
        fields = _job_fields(job_b, job_a)
        if not fields and op == "update":
            continue
        perms_b = _job_perms(job_b, before) if job_id in jobs_b else None
        perms_a = _job_perms(job_a, after) if job_id in jobs_a else None
        scope = {"job": job_id, **_scope_facts(job_b, job_a, perms_b, perms_a)}
        facts = _with_pr_target(file_facts, base_target, scope)
        doc = head_doc if op != "delete" else base_doc
        line = line_of(doc.node, ("jobs", job_id), key=True) if doc is not None else None
        out.append(_change(file.path, f"job.{job_id}", op, fields, facts, line))
    out.sort(key=lambda c: (c.line or 0, c.address))
    return out


def _job_fields(before: Any, after: Any) -> list[FieldChange]:
    """A job's fields, its `steps` matched by identity (app.semdiff.workflow.steps)."""
    fields = _diff(_without(before, ["steps"]), _without(after, ["steps"]), default_list_key)
    steps = diff_steps(field_of(before, "steps"), field_of(after, "steps"), default_list_key)
    return sorted([*fields, *steps], key=lambda f: f.path)


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
        line = line_of(doc.node, ("jobs",), key=True) if doc is not None else None
        raise UnparseableError("`jobs` must be a mapping of job ids", file=source, line=line)
    return {str(k): v for k, v in jobs.items()}


def _first_line(doc: YamlDocument | None) -> int:
    if doc is None:
        return 1
    for key in ("on", "name"):
        line = line_of(doc.node, (key,), key=True)
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
    redacted; in a `secrets:` mapping literal values are redacted and `${{ secrets.X }}`
    references shown (app.core.redact). A trigger `push:` (null) means `push: {}`."""
    plain = ["permissions"]
    if not isinstance(field_of(before, "secrets"), dict) and not isinstance(
        field_of(after, "secrets"), dict
    ):
        plain.append("secrets")
    out = diff_tree(_without(before, plain), _without(after, plain), list_key=list_key)
    for key in plain:
        old, new = field_of(before, key), field_of(after, key)
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


# -- facts -----------------------------------------------------------------------------------


def _with_pr_target(
    file_facts: dict[str, Any], base_target: bool, scope: dict[str, Any]
) -> dict[str, Any]:
    """`pr_target_checkout`: a `pull_request_target` workflow checks out the pull request's
    head, running fork code with a write token and secrets ("pwn request")."""
    now = bool(file_facts["pull_request_target"]) and scope["checks_out_pr_head"]
    checked_before = bool(scope.pop("checked_out_pr_head_before"))
    was = base_target and checked_before
    return {
        **file_facts,
        **scope,
        "pull_request_target_before": base_target,
        "pr_target_checkout": now,
        "pr_target_checkout_before": was,
    }


def _trigger_facts(workflow: dict[str, Any] | None) -> dict[str, Any]:
    on = field_of(workflow, "on")
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


def _built_in(secret: str) -> bool:
    """`secrets.GITHUB_TOKEN` (any case) is the job's own token, which no one provisions."""
    return secret.upper() == "GITHUB_TOKEN"


def _template(path: str) -> bool:
    """GitHub runs only `.github/workflows/*` of a repository: a workflow-shaped file anywhere
    else (a starter template, a copy for another repository) runs nothing here."""
    parts = path.split("/")
    return not (len(parts) == 3 and parts[0] == ".github" and parts[1] == "workflows")


def _top_perms(workflow: dict[str, Any] | None) -> Permissions | None:
    if workflow is None:
        return None
    return normalize(workflow.get("permissions"))


def _job_perms(job: Any, workflow: dict[str, Any] | None) -> Permissions | None:
    """A job's effective permissions: its own, else the workflow's."""
    return effective(field_of(job, "permissions"), _top_perms(workflow))


def _scope_facts(
    before: Any, after: Any, perms_before: Permissions | None, perms_after: Permissions | None
) -> dict[str, Any]:
    """Facts of a job or a whole workflow (`before`/`after` None when it does not exist)."""
    secrets_before, secrets_after = secrets(before), secrets(after)
    actions = sorted(set(uses(after)))
    injections_before = set(script_injections(before))
    injections = script_injections(after)
    id_token_before = perms_before is not None and level(perms_before, "id-token") == 2
    id_token_after = perms_after is not None and level(perms_after, "id-token") == 2
    return {
        "permissions_before": perms_before,
        "permissions_after": perms_after,
        "permissions_change": permissions_change(perms_before, perms_after),
        "permissions_broadened": permissions_broadened(perms_before, perms_after),
        "write_scopes_added": write_scopes_added(perms_before, perms_after),
        "id_token_write": id_token_after,
        "id_token_write_added": id_token_after and not id_token_before,
        "secrets_used": sorted(secrets_after),
        # The built-in GITHUB_TOKEN is no secret anyone provisions: its power is `permissions`.
        "new_secrets": sorted(s for s in secrets_after - secrets_before if not _built_in(s)),
        "secrets_inherit": inherits_secrets(after),
        "secrets_inherit_added": inherits_secrets(after) and not inherits_secrets(before),
        "actions": actions,
        "unpinned_actions": [a for a in actions if unpinned(a)],
        "script_injection": injections,
        "new_script_injection": [i for i in injections if i not in injections_before],
        "checks_out_pr_head": checks_out_pr_head(after),
        "checks_out_code": checks_out_code(after),
        "checks_out_code_before": checks_out_code(before),
        "checked_out_pr_head_before": checks_out_pr_head(before),
    }
