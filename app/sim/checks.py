"""Check-run request validation with GitHub's limits (pure).

GitHub answers 422 when a check-run request breaks a limit; the product must batch annotations
(≤ 50 per request) and keep the summary under 65,535 characters, so the simulator refuses exactly
what GitHub refuses. Only GitHub Actions may set the statuses `waiting`, `requested` and
`pending`, and only GitHub sets the conclusion `stale`: an App asking for them gets 422. Applying a
valid body to a `CheckRun` accumulates annotations across requests.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.sim.state import CheckRun, SimError

MAX_ANNOTATIONS = 50
MAX_OUTPUT_CHARS = 65535
MAX_ACTIONS = 3
STATUSES = {"queued", "in_progress", "completed", "waiting", "requested", "pending"}
APP_STATUSES = {"queued", "in_progress", "completed"}
"""What an App may set: `waiting`, `requested` and `pending` are GitHub Actions' own (checks/create
accepts only these three; GitHub's docs reserve the others for Actions on update too)."""
CONCLUSIONS = {
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "timed_out",
}
GITHUB_ONLY_CONCLUSIONS = {"stale"}
LEVELS = {"notice", "warning", "failure"}


class CheckRunInvalid(Exception):
    """The body breaks one of GitHub's rules; the message is GitHub-like (HTTP 422)."""


def _invalid(detail: str) -> CheckRunInvalid:
    return CheckRunInvalid(f"Invalid request.\n\n{detail}")


def _annotation(item: Any, index: int) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _invalid(f"annotations[{index}] must be an object.")
    for key in ("path", "start_line", "end_line", "annotation_level", "message"):
        if key not in item:
            raise _invalid(f'"{key}" wasn\'t supplied for annotations[{index}].')
    if item["annotation_level"] not in LEVELS:
        raise _invalid(f"annotations[{index}].annotation_level must be one of {sorted(LEVELS)}.")
    if not isinstance(item["start_line"], int) or not isinstance(item["end_line"], int):
        raise _invalid(f"annotations[{index}] lines must be integers.")
    if item["end_line"] < item["start_line"]:
        raise _invalid(f"annotations[{index}].end_line is before start_line.")
    if ("start_column" in item or "end_column" in item) and item["start_line"] != item["end_line"]:
        raise _invalid(f"annotations[{index}]: columns are only allowed on a single line.")
    return dict(item)


def validate(body: Any, *, creating: bool) -> dict[str, Any]:
    """Check a create/update body; returns it (a dict) or raises CheckRunInvalid."""
    if not isinstance(body, dict):
        raise _invalid("Body should be a JSON object.")
    if creating:
        for key in ("name", "head_sha"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise _invalid(f'"{key}" wasn\'t supplied.')
    status = body.get("status")
    if status is not None and status not in STATUSES:
        raise _invalid(f"status must be one of {sorted(STATUSES)}.")
    if status is not None and status not in APP_STATUSES:
        raise _invalid(f"status {status!r} can only be set by GitHub Actions.")
    conclusion = body.get("conclusion")
    if conclusion in GITHUB_ONLY_CONCLUSIONS:
        raise _invalid(f"conclusion {conclusion!r} can only be set by GitHub.")
    if conclusion is not None and conclusion not in CONCLUSIONS:
        raise _invalid(f"conclusion must be one of {sorted(CONCLUSIONS)}.")
    if status == "completed" and conclusion is None:
        raise _invalid('"conclusion" wasn\'t supplied (required when status is completed).')
    output = body.get("output")
    if output is not None:
        if not isinstance(output, dict):
            raise _invalid("output must be an object.")
        for key in ("title", "summary"):
            if not isinstance(output.get(key), str):
                raise _invalid(f'"{key}" wasn\'t supplied for output.')
        for key in ("summary", "text"):
            value = output.get(key)
            if isinstance(value, str) and len(value) > MAX_OUTPUT_CHARS:
                raise _invalid(
                    f"Only {MAX_OUTPUT_CHARS} characters are allowed; {len(value)} were "
                    f"supplied for output.{key}."
                )
        annotations = output.get("annotations") or []
        if not isinstance(annotations, list):
            raise _invalid("output.annotations must be an array.")
        if len(annotations) > MAX_ANNOTATIONS:
            raise _invalid(
                f"Only {MAX_ANNOTATIONS} annotations are allowed per request; "
                f"{len(annotations)} were supplied."
            )
        for index, item in enumerate(annotations):
            _annotation(item, index)
    actions = body.get("actions")
    if actions is not None:
        if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
            raise _invalid(f"At most {MAX_ACTIONS} actions are allowed.")
        for action in actions:
            if not isinstance(action, dict):
                raise _invalid("each action must be an object.")
            for key, limit in (("label", 20), ("description", 40), ("identifier", 20)):
                value = action.get(key)
                if not isinstance(value, str) or not value or len(value) > limit:
                    raise _invalid(f"action {key} is required and at most {limit} characters.")
    return body


def valid_body(body: Any, *, creating: bool) -> dict[str, Any]:
    """`validate`, answering 422 like GitHub (SimError) instead of raising CheckRunInvalid."""
    try:
        return validate(body, creating=creating)
    except CheckRunInvalid as exc:
        raise SimError(422, str(exc)) from exc


def apply(run: CheckRun, body: dict[str, Any], now: datetime) -> bool:
    """Apply a validated body; True when this request completed the run."""
    was_completed = run.status == "completed"
    if "details_url" in body:
        run.details_url = body["details_url"]
    if "external_id" in body:
        run.external_id = body["external_id"]
    status = body.get("status")
    if body.get("conclusion") is not None:
        status = "completed"
    if status is not None:
        run.status = status
    if status in {"in_progress", "completed"} and run.started_at is None:
        run.started_at = now
    if status == "completed":
        run.conclusion = body["conclusion"]
        run.completed_at = now
    elif status is not None:
        run.conclusion = None
        run.completed_at = None
    output = body.get("output")
    if output is not None:
        run.title = output["title"]
        run.summary = output["summary"]
        if "text" in output:
            run.text = output["text"]
        run.annotations.extend(dict(a) for a in output.get("annotations") or [])
    if "actions" in body:
        run.actions = [dict(a) for a in body["actions"]]
    return run.status == "completed" and not was_completed
