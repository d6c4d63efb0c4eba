"""One handler per event kind; each returns what it did ("done" or "ignored").

Every relevant event re-evaluates the PR's *current* head (fetched fresh), so stale work for an
old head is never published. Merges are recorded once per merge commit, linked to the agent run.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Literal

from app.agentops.reverts import RevertRefs, revert_refs
from app.gate.break_glass import is_command
from app.github import checks
from app.github.client import CallLog
from app.github.webhooks import MergeGroupRef, WebhookPayload, parse_payload
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.service.evaluator import TIER_LABEL_PREFIX, PullRequestEvaluator
from app.service.merge_group import MERGE_GROUP_EXTERNAL_PREFIX, decide_merge_group
from app.service.reconcile import queue_reevaluation
from app.store.audit import agent_events as agentops
from app.store.audit import store
from app.store.audit.records import MergeApproval, MergeFinding, MergeRecord
from app.store.tables import Delivery

Outcome = Literal["done", "ignored"]
PR_ACTIONS = {"opened", "synchronize", "reopened", "edited", "ready_for_review"}
LABEL_ACTIONS = {"labeled", "unlabeled"}
"""A label change re-evaluates (break-glass), except our own tier labels (no loop)."""
COMMENT_ACTIONS = {"created", "edited", "deleted"}
REVIEW_ACTIONS = {"submitted", "edited", "dismissed"}


PLAN_EVENT = "countersign_plan"
"""Our own inbox event (never from GitHub): a Terraform plan arrived for a head SHA."""


class EventHandlers:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.evaluator = PullRequestEvaluator(rt)

    def _plan_arrived(self, data: Any) -> Outcome:
        """Queue a re-evaluation of each open PR whose head is the plan's SHA (as the sweep does:
        a `synchronize` delivery per PR, so the worker's per-PR lock serialises it)."""
        repo, sha = str(data.get("repo") or ""), str(data.get("head_sha") or "")
        # Each arrival re-evaluates (an identical plan from another poster may count where the
        # first did not): the row id, not the digest, names the queued delivery.
        arrival = str(data.get("plan_id") or data.get("sha256") or "")[:24]
        if not repo or not sha or self.rt.github is None:
            return "ignored"
        installation = self.rt.github.app_client(CallLog()).json(
            "GET", f"/repos/{repo}/installation"
        )
        inst_id = int(installation["id"])
        client = self.evaluator.client(inst_id, CallLog())
        queued = 0
        for pr in client.open_pulls(repo):
            if pr["head"]["sha"] == sha:
                queued += queue_reevaluation(
                    self.rt,
                    installation_id=inst_id,
                    repository=pr["base"]["repo"],
                    pr=pr,
                    delivery_id=f"plan-{arrival}-{sha[:12]}-{pr['number']}",
                    sender="countersign-plan",
                )
        if queued:
            self.rt.wake.set()
        return "done" if queued else "ignored"

    def handle(self, delivery: Delivery) -> Outcome:
        try:
            data: Any = json.loads(delivery.payload)
        except ValueError:
            return "ignored"
        if delivery.event == PLAN_EVENT:
            return self._plan_arrived(data)
        payload = parse_payload(data)
        event, action = delivery.event, payload.action or ""
        if event in ("installation", "installation_repositories"):
            return self._installation(payload, data)
        if payload.installation is None or payload.repository is None:
            return "ignored"
        repo = payload.repository.full_name
        attempt = delivery.attempts
        if event == "pull_request":
            pr = payload.pull_request
            if pr is None:
                return "ignored"
            if action == "closed":
                if pr.merged:
                    return self._closed(payload, data)
                closed = agentops.record_closed(
                    self.rt.engine,
                    repo=repo,
                    pr=pr.number,
                    head_sha=pr.head.sha if pr.head else None,
                )
                return "done" if closed else "ignored"
            label = payload.label.name if payload.label is not None else ""
            ours = label.startswith(TIER_LABEL_PREFIX)
            wanted = action in PR_ACTIONS or (action in LABEL_ACTIONS and not ours)
            if wanted and pr.state == "open":
                self.evaluator.evaluate_pr(
                    payload.installation.id,
                    repo,
                    pr.number,
                    attempt=attempt,
                    delivery_id=delivery.id,
                )
                return "done"
            return "ignored"
        if event == "issue_comment":
            return self._comment(payload, repo, attempt, delivery.id)
        if event == "pull_request_review" and action in REVIEW_ACTIONS:
            pr = payload.pull_request
            if pr is None:
                return "ignored"
            self._record_review(payload, repo, action)
            if pr.state == "open":
                self.evaluator.evaluate_pr(
                    payload.installation.id,
                    repo,
                    pr.number,
                    attempt=attempt,
                    delivery_id=delivery.id,
                )
            return "done"
        if event == "check_run" and action in ("rerequested", "requested_action"):
            run = payload.check_run
            if run is None or run.name != checks.CHECK_NAME:
                return "ignored"
            if action == "requested_action" and (
                payload.requested_action is None
                or payload.requested_action.identifier != checks.REEVALUATE_ACTION["identifier"]
            ):
                return "ignored"
            group_ref = (run.external_id or "").removeprefix(MERGE_GROUP_EXTERNAL_PREFIX)
            if run.external_id and group_ref != run.external_id:  # Re-run of a group check
                group = MergeGroupRef(head_sha=run.head_sha, head_ref=group_ref)
                decide_merge_group(self.evaluator, payload.installation.id, repo, group)
                return "done"
            return self._evaluate_all(payload, repo, attempt, delivery.id)
        if event == "merge_group":
            if action != "checks_requested" or payload.merge_group is None:
                return "ignored"  # `destroyed`: the group is gone, nothing to gate
            decide_merge_group(self.evaluator, payload.installation.id, repo, payload.merge_group)
            return "done"
        if event == "check_suite" and action == "rerequested":
            return self._evaluate_all(payload, repo, attempt, delivery.id)
        return "ignored"

    def _comment(
        self, payload: WebhookPayload, repo: str, attempt: int, delivery_id: str
    ) -> Outcome:
        """A `/break-glass` comment on an open PR (made, edited or deleted) re-evaluates it;
        other comments, and comments on issues, are ignored."""
        issue, comment = payload.issue, payload.comment
        if payload.action not in COMMENT_ACTIONS or issue is None or comment is None:
            return "ignored"
        if issue.pull_request is None or issue.state != "open":
            return "ignored"
        bodies = [comment.body, *((payload.changes or {}).get("body") or {}).values()]
        if not any(is_command(str(b)) for b in bodies):
            return "ignored"
        assert payload.installation is not None
        self.evaluator.evaluate_pr(
            payload.installation.id, repo, issue.number, attempt=attempt, delivery_id=delivery_id
        )
        return "done"

    def _evaluate_all(
        self, payload: WebhookPayload, repo: str, attempt: int, delivery_id: str
    ) -> Outcome:
        assert payload.installation is not None
        numbers = payload.pr_numbers() or self._fork_pr_numbers(payload, repo)
        for number in numbers:
            self.evaluator.evaluate_pr(
                payload.installation.id, repo, number, attempt=attempt, delivery_id=delivery_id
            )
        return "done" if numbers else "ignored"

    def _fork_pr_numbers(self, payload: WebhookPayload, repo: str) -> list[int]:
        """PRs of a check event that names none: GitHub sends `pull_requests: []` for fork PRs.

        Our check run's `external_id` names its PR (see `WebhookPayload.pr_numbers`); a check
        suite has none, so the open PRs whose head is the suite's SHA are looked up (the
        commit→pulls endpoint does not list fork PRs reliably, the open-PR list does).
        """
        sha = payload.head_sha()
        if not sha or payload.installation is None:
            return []
        client = self.evaluator.client(payload.installation.id, CallLog())
        return [
            int(pr["number"])
            for pr in client.open_pulls(repo)
            if (pr.get("head") or {}).get("sha") == sha
        ]

    def _installation(self, payload: WebhookPayload, data: dict[str, Any]) -> Outcome:
        repos = [
            r.get("full_name")
            for key in ("repositories", "repositories_added")
            for r in data.get(key) or []
            if isinstance(r, dict)
        ]
        store.append(
            self.rt.engine,
            "installation",
            {
                "action": payload.action,
                "installation_id": payload.installation.id if payload.installation else None,
                "account": (data.get("installation") or {}).get("account", {}).get("login"),
                "repositories": repos,
                "sender": payload.sender.login if payload.sender else None,
            },
        )
        return "done"

    def _record_review(self, payload: WebhookPayload, repo: str, action: str) -> None:
        review = payload.review
        pr = payload.pull_request
        if review is None or pr is None or review.user is None:
            return
        kind = "dismissal" if action == "dismissed" else "approval"
        key = {"review_id": review.id, "action": action, "state": review.state}
        # Idempotent: a redelivered review event does not append a second record.
        for event in store.events_for_pr(self.rt.engine, repo, pr.number, kinds=(kind,)):
            data = event.data()
            if all(data.get(k) == v for k, v in key.items()):
                return
        store.append(
            self.rt.engine,
            kind,
            {
                **key,
                "login": review.user.login,
                "user_type": review.user.type,
                "commit": review.commit_id,
                "at": review.submitted_at,
            },
            repo=repo,
            pr_number=pr.number,
            head_sha=pr.head.sha if pr.head else None,
        )

    def _closed(self, payload: WebhookPayload, data: dict[str, Any]) -> Outcome:
        """Record the merge once, linked to the run ID; `bypass_merge` unless the check was green."""
        pr = payload.pull_request
        assert pr is not None and payload.repository is not None
        repo = payload.repository.full_name
        merge_sha = pr.merge_commit_sha
        for event in store.events_for_pr(
            self.rt.engine, repo, pr.number, kinds=("merge", "bypass_merge")
        ):
            if event.data().get("merge_commit_sha") == merge_sha:
                return "done"
        head_sha = pr.head.sha if pr.head else ""
        # One read of the head's evaluations, oldest first: the last decides, the first dates it.
        at_head = [
            e
            for e in store.evaluations_for_pr(self.rt.engine, repo, pr.number)
            if e.head_sha == head_sha
        ]
        latest = at_head[-1] if at_head else None
        report: dict[str, Any] = {}
        conclusion = None
        policy_version = ""
        reverts = revert_refs(repo, [pr.title, pr.body or ""])
        observed = False
        gate = None  # what the gate concluded (in observe mode: would have concluded)
        if latest is not None:
            ev = latest.data()
            report = ev.get("report") or {}
            conclusion = ev.get("conclusion")
            policy_version = ev.get("policy_version") or ""
            observed = bool(ev.get("observed"))
            gate = ev.get("would_conclude") if observed else conclusion
            reverts = reverts.union(RevertRefs.model_validate(ev.get("reverts") or {}))
        first_evaluated = at_head[0].occurred_at if at_head else None
        glass = report.get("break_glass") or {}
        broke_glass = bool(glass.get("active")) and gate == "success"
        # A break-glass merge skipped the approvals: a bypass that needs review after the fact.
        bypass = gate != "success" or broke_glass
        agent = report.get("agent") or {}
        risk = report.get("risk") or {}
        record = MergeRecord(
            repo=repo,
            pr=pr.number,
            title=pr.title,
            url=pr.html_url,
            agent_id=agent.get("id"),
            run_id=agent.get("run_id"),
            author=pr.user.login if pr.user else agent.get("author"),
            head_sha=head_sha,
            merge_commit_sha=merge_sha,
            merged_by=pr.merged_by.login if pr.merged_by else None,
            merged_at=_parse_time(pr.merged_at),
            tier=report.get("tier") if report.get("tier") is not None else "blocked",
            risk_level=risk.get("level", "critical") if report else "critical",
            risk_score=int(risk.get("score", 100)) if report else 100,
            findings=[MergeFinding.model_validate(f) for f in report.get("findings", [])],
            approvals=[
                MergeApproval(
                    login=a["login"],
                    teams=list(a.get("teams") or []),
                    time=_parse_time(a.get("at")) if a.get("at") else None,
                    commit=a.get("commit"),
                )
                for a in (report.get("approvals") or {}).get("approvals", [])
            ],
            check_conclusion=conclusion or "none",
            bypass=bypass,
            policy_version=policy_version or "unknown",
            plans=dict((report.get("plans") or {}).get("received") or {}),
            run_cost_usd=agent.get("run_cost_usd"),
            head_first_evaluated_at=first_evaluated,
            reverts=reverts,
            observed=observed,
            break_glass=broke_glass,
            post_review="needed" if broke_glass else None,
        )
        store.append(self.rt.engine, "bypass_merge" if bypass else "merge", record)
        log.info(
            "merge.recorded",
            bypass=bypass,
            break_glass=broke_glass,
            run_id=record.run_id,
            agent=record.agent_id,
        )
        return "done"

    def give_up(self, delivery: Delivery, reason: str) -> None:
        """After the last retry: make the check fail with the reason (best effort)."""
        try:
            payload = parse_payload(json.loads(delivery.payload))
            if payload.installation is None or payload.repository is None:
                return
            repo = payload.repository.full_name
            sha = payload.head_sha()
            if not sha:
                return
            client = self.evaluator.client(payload.installation.id, CallLog())
            body = checks.failure_body(
                reason,
                self.evaluator.details_url(
                    repo, payload.pr_numbers()[0] if payload.pr_numbers() else 0
                ),
            )
            runs = client.check_runs_for(repo, sha, checks.CHECK_NAME)
            if runs:
                client.update_check_run(repo, int(runs[0]["id"]), body)
            else:
                client.create_check_run(repo, {"name": checks.CHECK_NAME, "head_sha": sha, **body})
        except Exception as error:
            log.warning("give_up.check_not_updated", error=str(error)[:300])


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
