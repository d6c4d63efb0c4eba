"""Check-run payloads (pure builders) and sending them with annotations in batches of 50.

GitHub appends a request's annotations to those the check run already has (it never replaces
them), so the same annotations sent on every re-evaluation would pile up. The service sends a
check run's annotations once (`annotation_set` + `annotations_digest` say what that set is) and
opens a new check run when the set changes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.core.report import Report
from app.gate.render.markdown import (
    CHECK_SUMMARY_LIMIT,
    Conclusion,
    annotations_for,
    check_title,
    render_markdown,
)
from app.github.client import InstallationClient

CHECK_NAME = "countersign"
ANNOTATIONS_PER_REQUEST = 50
REEVALUATE_ACTION = {
    "label": "Re-evaluate",
    "description": "Evaluate the current head again",
    "identifier": "reevaluate",
}


def external_id(repo: str, number: int, head_sha: str) -> str:
    """What our check run's `external_id` holds: the PR it gates, `owner/repo#N@sha` (read back
    by `webhooks.parse_external_id` when GitHub names no PR, as for fork PRs)."""
    return f"{repo}#{number}@{head_sha}"


def in_progress_body(head_sha: str, details_url: str, external_id: str) -> dict[str, Any]:
    return {
        "name": CHECK_NAME,
        "head_sha": head_sha,
        "status": "in_progress",
        "details_url": details_url,
        "external_id": external_id,
        "output": {"title": "Evaluating…", "summary": "Countersign is evaluating this change."},
    }


def annotation_set(report: Report) -> list[dict[str, Any]]:
    """The report's annotations, each distinct one once, in a stable order."""
    unique = {json.dumps(a, sort_keys=True): a for a in annotations_for(report)}
    return list(unique.values())


def annotations_digest(annotations: list[dict[str, Any]]) -> str:
    """sha256 over the canonical JSON of a set of annotations (order does not matter)."""
    items = sorted(json.dumps(a, sort_keys=True, separators=(",", ":")) for a in annotations)
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


def completed_bodies(
    report: Report,
    conclusion: Conclusion,
    *,
    enforced: bool,
    details_url: str,
    with_annotations: bool = True,
    appendix: str = "",
) -> list[dict[str, Any]]:
    """The completing PATCH, then one PATCH per further 50 annotations (GitHub's limit).

    `with_annotations=False` when this check run already has exactly these annotations;
    `appendix` (the replay section) follows the report, which is cut to leave it room."""
    title = check_title(report, conclusion, enforced=enforced)
    room = CHECK_SUMMARY_LIMIT - (len(appendix) + 2 if appendix else 0)
    summary = render_markdown(report, enforced=enforced, limit=room)
    if appendix:
        summary = summary.rstrip("\n")[:room] + "\n\n" + appendix
    annotations = annotation_set(report) if with_annotations else []
    batches = [
        annotations[i : i + ANNOTATIONS_PER_REQUEST]
        for i in range(0, len(annotations), ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    bodies: list[dict[str, Any]] = []
    for index, batch in enumerate(batches):
        output: dict[str, Any] = {"title": title, "summary": summary}
        if batch:
            output["annotations"] = batch
        body: dict[str, Any] = {"output": output}
        if index == 0:
            body.update(
                status="completed",
                conclusion=conclusion,
                details_url=details_url,
                actions=[REEVALUATE_ACTION],
            )
        bodies.append(body)
    return bodies


def failure_body(reason: str, details_url: str) -> dict[str, Any]:
    """Fail closed: what we post when we could not evaluate at all."""
    return {
        "status": "completed",
        "conclusion": "failure",
        "details_url": details_url,
        "actions": [REEVALUATE_ACTION],
        "output": {
            "title": "Countersign could not evaluate this change",
            "summary": (
                "The evaluation failed, so this check fails closed.\n\n"
                f"Reason: {reason[:2000]}\n\nUse **Re-evaluate** once the cause is fixed."
            ),
        },
    }


def post_completed(
    client: InstallationClient, repo: str, check_run_id: int, bodies: list[dict[str, Any]]
) -> None:
    for body in bodies:
        client.update_check_run(repo, check_run_id, body)
