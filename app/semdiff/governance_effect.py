"""What an edit to a governance file does: can it weaken review or enlarge privileges, or is it
routine CI maintenance?

Every change to a governance path carries `governance: true` (dispatch). Most of them, on the
repositories of the precision corpus (#24), are action and toolchain bumps in workflows: rating
each one as an edit of the gate (high, critical for an agent) buries the few that matter. This
module grades the change by what changed, structurally, not by the file's name:

- the gate's own configuration (`.github/countersign.yml`, `policies/` with `agents.yaml`,
  `risk_rules/`), CODEOWNERS, repository settings and rulesets always govern;
- a workflow change governs when it adds a risky trigger or removes or narrows one that runs
  checks, broadens the token, reads new secrets (`secrets: inherit`), pastes untrusted input into
  a script, checks out the pull request's code under `pull_request_target`, changes a run
  condition (`if`), `continue-on-error`, `environment`, `needs` or a self-hosted runner, touches
  a checkout's credentials or ref, makes a failing command pass (`|| true`), or removes jobs or
  steps of a workflow that runs on pull requests or is reusable (`workflow_call`: its caller
  may be a pull request check);
- anything else (action/tool versions, new jobs and steps, timeouts, names, env values) is
  routine: `governance_routine: true`.

`governance_effect_text` says why, for the finding's message. A change this module cannot read
(unparseable, unknown role) gets no `governance_routine` and stays governed: fail closed.
"""

from __future__ import annotations

import functools
import posixpath
import re
from collections.abc import Iterable, Sequence
from typing import Any

from app.core.errors import UnparseableError
from app.core.models import Change, FieldChange, FileDiff
from app.semdiff.common.documents import read_documents
from app.semdiff.governance import governance_file
from app.semdiff.workflow.steps import step_identities

__all__ = ["grade"]

GATE_ROLES = {
    "codeowners": "who must review which paths",
    "countersign_config": "the gate's own configuration",
    "policies": "the gate's policies and agent registry",
    "risk_rules": "the gate's risk rules",
    "repository_settings": "repository settings (branch protection, collaborators)",
    "rulesets": "repository rulesets",
}
CHECK_TRIGGERS = frozenset({"pull_request", "pull_request_target", "merge_group"})
"""Events whose runs report the checks a pull request waits for."""
RISKY_TRIGGERS = frozenset(
    {"pull_request_target", "workflow_run", "issue_comment", "issues", "discussion_comment"}
)
"""Events an outsider can cause that run with the base repository's token and secrets."""
FILTERED_TRIGGERS = CHECK_TRIGGERS | RISKY_TRIGGERS
"""Triggers whose filters (branches, paths, types) decide which pull requests run checks or
which outside events run privileged code. `push` filters decide branch CI, not review."""
CALLED_TRIGGERS = frozenset({"workflow_call"})
"""A reusable workflow runs inside its caller's run, which may be a pull request's check: its
jobs, steps and run conditions are judged as a check's (the caller is not in sight)."""
DEFAULT_PR_TYPES = frozenset({"opened", "synchronize", "reopened"})
CREDENTIAL_INPUTS = frozenset(
    {"ref", "repository", "persist-credentials", "token", "github-token", "ssh-key"}
)
_STEP = re.compile(r"^steps\[(.*)\](?:\.(.+))?$")
_FAIL_OPEN = re.compile(r"\|\|\s*true\b|\bset\s+\+e\b|\bexit\s+0\b")
_NEEDS_ITEM = re.compile(r"^needs(\[\d+\])?$")
_CHECKING = re.compile(
    r"test|lint|check|scan|verify|audit|vet\b|validat|fmt|format|secur|coverage|pre-commit"
    r"|tflint|tfsec|trivy|codeql|semgrep|mypy|ruff|eslint",
    re.IGNORECASE,
)
"""A command step that checks something, by its identity (id, name, or first script line):
removing it, or letting it fail, removes a check; cleanup and setup steps come and go."""


def grade(change: Change, file: FileDiff | None) -> dict[str, Any]:
    """`governance_routine` and `governance_effect_text` for one change to a governance path."""
    if change.facts.get("unparseable") or change.facts.get("partial"):
        return {"governance_effect_text": "could not be analysed: read the raw diff"}
    paths = [p for p in (change.file, change.old_file, file.old_path if file else None) if p]
    roles = {governance_file(p) for p in paths}
    gate = [GATE_ROLES[r] for r in sorted(roles) if r in GATE_ROLES]
    if gate:
        return {"governance_effect_text": "; ".join(gate)}
    if change.kind == "workflow" and "permissions_change" in change.facts:
        base = _workflow(file.base, paths[-1]) if file else None
        head = _workflow(file.head, change.file) if file else None
        reasons = _workflow_reasons(change, base, head)
    elif roles == {"dependabot"}:
        reasons = _dependabot_reasons(change)
    elif roles == {"ci"} and posixpath.basename(change.file).lower().startswith("dockerfile"):
        reasons = []  # a CI build image: tools, not who may change what
    else:
        return {"governance_effect_text": "a CI or repository configuration file"}
    if reasons:
        return {"governance_routine": False, "governance_effect_text": "; ".join(reasons)}
    return {
        "governance_routine": True,
        "governance_effect_text": (
            "routine CI maintenance: no trigger, token permission, secret, run condition or "
            "check is loosened"
        ),
    }


@functools.lru_cache(maxsize=32)
def _workflow(data: bytes | None, path: str) -> dict[str, Any] | None:
    """One side of a workflow file as a mapping (None when missing or unreadable)."""
    if data is None:
        return None
    try:
        docs = read_documents(data, "yaml", path)
    except UnparseableError:
        return None
    value = docs[0].value if docs else None
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else None


def _triggers(workflow: dict[str, Any] | None) -> frozenset[str]:
    """The events a workflow side runs on (none for a missing or unreadable side)."""
    on = (workflow or {}).get("on", (workflow or {}).get("True"))
    if isinstance(on, str):
        return frozenset({on})
    if isinstance(on, list | dict):
        return frozenset(str(t) for t in on)
    return frozenset()


def _jobs(workflow: dict[str, Any] | None) -> dict[str, Any]:
    jobs = (workflow or {}).get("jobs")
    return {str(k): v for k, v in jobs.items()} if isinstance(jobs, dict) else {}


def _renamed_job(base: dict[str, Any] | None, head: dict[str, Any] | None, job: str) -> bool:
    """A deleted job whose steps run unchanged under a new id: a rename, not a removed check."""
    old = _jobs(base).get(job)
    steps = old.get("steps") if isinstance(old, dict) else None
    if not steps:
        return False
    before = _jobs(base)
    return any(
        isinstance(new, dict) and new.get("steps") == steps
        for new_id, new in _jobs(head).items()
        if new_id not in before
    )


def _workflow_reasons(
    change: Change, base: dict[str, Any] | None, head: dict[str, Any] | None
) -> list[str]:
    facts = change.facts
    before = _triggers(base)
    after = frozenset(str(t) for t in facts.get("triggers") or ())
    checks = bool((before | after) & (CHECK_TRIGGERS | CALLED_TRIGGERS))
    reasons = _fact_reasons(facts)
    job = change.address.removeprefix("job.")
    renamed = change.address.startswith("job.") and _renamed_job(base, head, job)
    if change.op == "delete" and checks and not renamed:
        reasons.append(f"removes {change.address}, which runs checks")
    if change.address == "workflow":
        reasons += _trigger_reasons(change.fields, before, after)
    if change.op == "update" and change.address.startswith("job."):
        steps = (_step_ids(_jobs(base).get(job)), _step_ids(_jobs(head).get(job)))
        reasons += _job_reasons(change.fields, checks, steps)
    return list(dict.fromkeys(reasons))


def _fact_reasons(facts: dict[str, Any]) -> list[str]:
    """What the workflow analyzer already found about tokens, secrets and untrusted code."""
    out: list[str] = []
    if facts.get("permissions_change") == "default":
        out.append("drops the explicit token permissions: the repository default applies")
    elif facts.get("permissions_change") == "broadened" and _writes(facts):
        out.append("token gains write scopes " + ", ".join(_writes(facts)))
    if facts.get("new_secrets"):
        out.append("reads new secrets " + ", ".join(map(str, facts["new_secrets"])))
    if facts.get("secrets_inherit_added"):
        out.append("passes every secret on (secrets: inherit)")
    if facts.get("new_script_injection"):
        out.append("pastes untrusted input into a script")
    if facts.get("pr_target_checkout") and not facts.get("pr_target_checkout_before"):
        out.append("checks out the pull request's code under pull_request_target")
    return out


def _trigger_reasons(
    fields: Iterable[FieldChange], before: frozenset[str], after: frozenset[str]
) -> list[str]:
    """Risky triggers added; triggers that run checks removed, or their filters changed."""
    out = [f"adds the {t} trigger" for t in sorted((after - before) & RISKY_TRIGGERS)]
    dropped = (before - after) & CHECK_TRIGGERS
    if "push" in before - after and not after & CHECK_TRIGGERS:
        dropped |= {"push"}  # its last check-running trigger
    out += [f"removes the {t} trigger" for t in sorted(dropped)]
    for field in fields:
        parts = field.path.split(".")
        if parts[0] != "on" or len(parts) < 3:
            continue
        trigger = parts[1]
        if parts[2] == "types" and _default_types(field):
            continue  # lists at least the default activity types: runs as often as before
        if trigger in before and trigger in after and trigger in FILTERED_TRIGGERS:
            out.append(f"changes when {trigger} runs it ({'.'.join(parts[2:])})")
    return out


def _job_reasons(
    fields: Sequence[FieldChange], checks: bool, steps: tuple[set[str], set[str]]
) -> list[str]:
    """An existing job's run condition, environment, runner, credentials, or its checks.
    `steps` holds the job's step identities before and after."""
    out: list[str] = []
    existed, remains = steps
    commands = {
        m.group(1)
        for f in fields
        if (m := _STEP.match(f.path)) and m.group(2) == "run" and _CHECKING.search(m.group(1))
    }
    for field in fields:
        match = _STEP.match(field.path)
        step, key = (match.group(1), match.group(2) or "") if match else (None, field.path)
        if step is not None and step not in existed:
            # A new step adds work; its own settings loosen nothing, unless it is a removed
            # step's command made to pass (`make test` → `make test || true`).
            if (
                key == "run"
                and _fails_open(field)
                and _replaces(field, (existed - remains) & commands)
            ):
                out.append(f"makes a failing command in step {step} pass")
            continue
        if step is not None and step not in remains:
            continue  # a removed step: counted below if it was a check
        leaf = key.split(".")[-1]
        if key == "if" and (checks or field.before is not None):
            # A new guard on a job that reports no check only makes it run less.
            out.append(f"changes the run condition of {_where(step)}")
        elif key == "continue-on-error" and field.after not in (None, False):
            out.append(f"lets {_where(step)} fail without failing the job")
        elif step is None and key.split(".")[0] == "environment":
            out.append("changes the deployment environment (its secrets and protection rules)")
        elif step is None and key.startswith("runs-on") and _self_hosted(field):
            out.append("moves the job to a self-hosted runner")
        elif step is None and _NEEDS_ITEM.match(key) and _drops(field):
            out.append("drops a job it waited for (needs)")
        elif step is not None and key.startswith("with.") and leaf in CREDENTIAL_INPUTS:
            out.append(f"changes {leaf} of {_where(step)}")
        elif key == "run" and _fails_open(field) and _CHECKING.search(step or ""):
            out.append(f"makes a failing command in {_where(step)} pass")
    # Checking commands gone from a check without as many new ones (setup comes and goes).
    gone = sorted((existed - remains) & commands)
    if checks and len(gone) > len((remains - existed) & commands):
        out.append("removes commands of a check: " + ", ".join(gone))
    return out


def _step_ids(job: Any) -> set[str]:
    """The identities of a job's steps, as the workflow analyzer names them in field paths."""
    steps = job.get("steps") if isinstance(job, dict) else None
    return set(step_identities(steps)) if isinstance(steps, list) else set()


def _writes(facts: dict[str, Any]) -> list[str]:
    """Token scopes that are `write` after and were not before (`write-all` counts as `*`)."""
    before, after = facts.get("permissions_before"), facts.get("permissions_after")
    if after == "write-all":
        return [] if before == "write-all" else ["*"]
    if not isinstance(after, dict):
        return []
    old = before if isinstance(before, dict) else {}
    return sorted(k for k, v in after.items() if v == "write" and old.get(k) != "write")


def _default_types(field: FieldChange) -> bool:
    after = field.after
    return isinstance(after, list) and DEFAULT_PR_TYPES <= {str(a) for a in after}


def _drops(field: FieldChange) -> bool:
    before, after = field.before, field.after
    if isinstance(before, list) and isinstance(after, list):
        return bool({str(b) for b in before} - {str(a) for a in after})
    return before is not None


def _replaces(field: FieldChange, gone: set[str]) -> bool:
    script = str(field.after or "")
    return any(g.startswith("run:") and g[4:].rstrip("…") in script for g in gone)


def _where(step: str | None) -> str:
    return "the job" if step is None else f"step {step}"


def _self_hosted(field: FieldChange) -> bool:
    return "self-hosted" in str(field.after) and "self-hosted" not in str(field.before)


def _fails_open(field: FieldChange) -> bool:
    after = str(field.after or "")
    return bool(_FAIL_OPEN.search(after)) and not _FAIL_OPEN.search(str(field.before or ""))


def _dependabot_reasons(change: Change) -> list[str]:
    """Dependabot's schedule and ecosystems are routine; its private registries hold
    credentials."""
    if change.address.endswith(":registries") or any(
        f.path.startswith("registries") for f in change.fields
    ):
        return ["changes the private registries Dependabot authenticates to"]
    return []
