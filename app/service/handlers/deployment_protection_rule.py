"""`deployment_protection_rule`: a workflow job waits to deploy; answer it (app.service.deploy_gate).

GitHub waits up to 30 days for a custom rule's answer, so every `requested` event is answered:
an event we cannot read well enough to find its run is the only one we cannot answer, and it is
logged as such.
"""

from __future__ import annotations

from app.github.deployments import ProtectionRuleRequest
from app.runtime.logging import log
from app.service.deploy_gate import DeployTarget, answer_deployment
from app.service.handlers.base import Event, Outcome


def handle(event: Event) -> Outcome:
    if event.action != "requested":
        return "ignored"
    request = ProtectionRuleRequest.of(event.data)
    run_id = request.run_id(event.repo) if request is not None else None
    if request is None or run_id is None:
        log.error("deployment.unanswerable", repo=event.repo, delivery=event.delivery.id)
        return "ignored"
    repository = event.data.get("repository") or {}
    target = DeployTarget(
        installation_id=event.installation_id,
        repo=event.repo,
        default_branch=str(repository.get("default_branch") or "main"),
        run_id=run_id,
        request=request,
    )
    answer_deployment(event.evaluator, target)
    return "done"
