"""What a workflow or job exposes: secrets it reads, third-party code it runs, untrusted text it
pastes into shell scripts, and fork code it checks out with a privileged token.

Every function takes a job mapping or a whole workflow (then it looks at every job), so the same
facts describe a `job.<id>` change and the `workflow` change.
"""

from __future__ import annotations

import re
from typing import Any

from app.semdiff.workflow.steps import step_identities

__all__ = [
    "checks_out_pr_head",
    "field_of",
    "inherits_secrets",
    "script_injections",
    "secrets",
    "unpinned",
    "uses",
]

FIRST_PARTY = frozenset({"actions", "github"})
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_SECRET_REF = re.compile(
    r"\bsecrets\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['\"]([^'\"]+)['\"]\s*\])"
)
_SHA = re.compile(r"^[0-9a-fA-F]{40}$")
_ANY = r"(?:\[[^\]]*\]|\.\*|\.\d+)?"  # `commits.*`, `commits[0]`, `pages.0`
# Context values an outside contributor writes (GitHub Security Lab's list of untrusted input):
# pasted into a `run:` script, they run as shell code with the job's token and secrets.
_UNTRUSTED = re.compile(
    r"\bgithub\s*\.\s*(?:"
    r"event\.(?:issue|pull_request|discussion)\.(?:title|body)"
    r"|event\.(?:comment|review|review_comment|discussion_comment)\.body"
    rf"|event\.pages{_ANY}\.page_name"
    rf"|event\.(?:commits{_ANY}|head_commit|workflow_run\.head_commit)"
    r"\.(?:message|author\.(?:email|name)|committer\.(?:email|name))"
    r"|event\.pull_request\.head\.(?:ref|label|repo\.default_branch)"
    r"|event\.workflow_run\.(?:head_branch|display_title)"
    r"|head_ref"
    r")\b"
)
# A `ref`/`repository` that names the pull request's head (the fork's code).
_PR_HEAD = re.compile(
    r"github\s*\.\s*(?:event\.pull_request\.head\.(?:sha|ref|repo\.full_name)|head_ref)"
    r"|refs/pull/"
)
_CHECKOUT_COMMAND = re.compile(r"\bgh\s+pr\s+checkout\b|\bgit\s+(?:fetch|checkout)\b.*pull")


def field_of(value: Any, key: str) -> Any:
    """`value[key]` of a mapping; None for anything else (workflow YAML may hold any shape)."""
    return value.get(key) if isinstance(value, dict) else None


def _jobs(value: Any) -> list[Any]:
    jobs = field_of(value, "jobs")
    return list(jobs.values()) if isinstance(jobs, dict) else [value]


def _steps(job: Any) -> list[dict[str, Any]]:
    steps = field_of(job, "steps")
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def secrets(value: Any) -> set[str]:
    """Names referenced as `${{ secrets.X }}` / `${{ secrets['X'] }}` anywhere in `value`."""
    out: set[str] = set()
    for text in _strings(value):
        for expression in _EXPRESSION.findall(text):
            for dotted, indexed in _SECRET_REF.findall(expression):
                out.add(dotted or indexed)
    return out


def inherits_secrets(value: Any) -> bool:
    """A reusable-workflow call with `secrets: inherit` hands it every secret."""
    return any(field_of(job, "secrets") == "inherit" for job in _jobs(value))


def uses(value: Any) -> list[str]:
    """Every `uses:` of a job (reusable workflow) or step, in a job or a whole workflow."""
    out: list[str] = []
    for job in _jobs(value):
        if isinstance(field_of(job, "uses"), str):
            out.append(job["uses"])
        out.extend(step["uses"] for step in _steps(job) if isinstance(step.get("uses"), str))
    return out


def unpinned(ref: str) -> bool:
    """A third-party action or reusable workflow not pinned to a full commit SHA."""
    ref = ref.strip()
    if ref.startswith("./") or ref.startswith("docker://"):
        return False
    target, _, version = ref.partition("@")
    owner = target.split("/", 1)[0].lower()
    if owner in FIRST_PARTY:
        return False
    return not _SHA.match(version)


def _action(step: dict[str, Any]) -> str:
    action = step.get("uses")
    return action.partition("@")[0].strip().lower() if isinstance(action, str) else ""


def script_injections(value: Any) -> list[str]:
    """`<step>: <expression>` for each untrusted expression written into a `run:` script or an
    `actions/github-script` `script:` (passing it through `env:` is the safe way)."""
    out: set[str] = set()
    for job in _jobs(value):
        steps = _steps(job)
        for label, step in zip(step_identities(steps), steps, strict=True):
            scripts = [step.get("run")]
            if _action(step) == "actions/github-script":
                scripts.append(field_of(step.get("with"), "script"))
            for script in scripts:
                for expression in _EXPRESSION.findall(script if isinstance(script, str) else ""):
                    for match in _UNTRUSTED.finditer(expression):
                        out.add(f"{label}: {' '.join(match.group(0).split())}")
    return sorted(out)


def checks_out_pr_head(value: Any) -> bool:
    """A step fetches the pull request's head: `actions/checkout` with its ref or repository,
    or `gh pr checkout` / `git fetch … pull/…` in a script."""
    for job in _jobs(value):
        for step in _steps(job):
            if _action(step) == "actions/checkout":
                options = step.get("with")
                wanted = [field_of(options, "ref"), field_of(options, "repository")]
                if any(isinstance(w, str) and _PR_HEAD.search(w) for w in wanted):
                    return True
            script = step.get("run")
            if isinstance(script, str) and _CHECKOUT_COMMAND.search(script):
                return True
    return False


_ANY_CHECKOUT = re.compile(
    r"\bgh\s+(?:pr|repo)\s+(?:checkout|clone)\b|\bgit\s+(?:clone|checkout|fetch)\b"
)


def checks_out_code(value: Any) -> bool:
    """A step checks out or fetches any code (`actions/checkout`, `git clone`…): under
    `pull_request_target`, a job that checks out nothing runs no code from the pull request."""
    for job in _jobs(value):
        if field_of(job, "uses"):
            return True  # a reusable workflow may check out anything
        for step in _steps(job):
            if _action(step) == "actions/checkout":
                return True
            script = step.get("run")
            if isinstance(script, str) and _ANY_CHECKOUT.search(script):
                return True
    return False
