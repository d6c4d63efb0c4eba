"""Evaluate one PR head end to end: fetch, evaluate (pure), publish, record.

Idempotent by design so at-least-once delivery gives exactly-once effects: the check run for a
head SHA is found (our audit record, or GitHub on a retry) before one is created; reviewers are
requested once per SHA; every evaluation is one audit event.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from app.agentops.history import AgentHistory
from app.config.repo import parse_repo_config
from app.core.errors import ConfigError
from app.core.models import Change
from app.core.snapshot import PullRequestSnapshot
from app.gate.approvals import PriorEvaluation
from app.gate.owners import CodeOwnersMap
from app.gate.pipeline import Evaluation, evaluate_snapshot, proposing_agent
from app.github import checks
from app.github.client import CallLog, InstallationClient
from app.github.snapshot_fetch import fetch_snapshot
from app.runtime import telemetry
from app.runtime.context import Runtime
from app.runtime.logging import log
from app.runtime.tracing import describe_evaluation
from app.service.base_moves import with_base_moves
from app.service.break_glass_facts import record_break_glass, with_break_glass_facts
from app.service.check_runs import ANNOTATIONS_SENT as ANNOTATIONS_SENT  # where tests look
from app.service.check_runs import (
    Annotations,
    Head,
    annotations_sent,
    create_check_run,
    find_check_run,
    record_annotations_sent,
)
from app.service.evaluation_record import (
    Published,
    ReviewRequest,
    already_recorded,
    evaluation_payload,
    record_run_id_change,
    reviewers_to_request,
)
from app.service.head_plans import with_head_plans
from app.service.replay_section import PrReplay, pr_replay
from app.service.tuning_facts import recorded_grants
from app.store.audit import agent_events as agentops
from app.store.audit import store
from app.store.audit.agent_record import agent_history
from app.store.tables import AuditEvent

TIER_LABEL_PREFIX = "countersign:tier-"


@dataclass(frozen=True)
class EvaluationOutcome:
    head_sha: str
    conclusion: str
    check_run_id: int
    api_calls: tuple[str, ...]
    seconds: float
    would_conclude: str | None = None
    """In observe mode (conclusion `neutral`): what the enforced gate would have concluded."""


class PullRequestEvaluator:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def client(self, installation_id: int, log_: CallLog) -> InstallationClient:
        if self.rt.github is None:
            from app.config.settings import SettingsError

            raise SettingsError("GitHub App is not configured (COUNTERSIGN_APP_ID …)")
        return self.rt.github.installation(installation_id, log_)

    def details_url(self, repo: str, number: int) -> str:
        return f"{self.rt.settings.public_url.rstrip('/')}/api/reports/{repo}/{number}"

    def history(self, repo: str, number: int) -> dict[str, PriorEvaluation]:
        out: dict[str, PriorEvaluation] = {}
        for event in store.evaluations_for_pr(self.rt.engine, repo, number):
            data = event.data()
            report = data.get("report") or {}
            try:
                changes = tuple(Change.model_validate(c) for c in report.get("changes", []))
            except ValueError:
                continue
            out[data["head_sha"]] = PriorEvaluation(
                changes=changes,
                tier=report.get("tier"),
                policy_version=data.get("policy_version", ""),
            )
        return out

    def agent_record(
        self, repo: str, number: int, snapshot: PullRequestSnapshot
    ) -> AgentHistory | None:
        """The proposing agent's audited record (rate limits, trust ramp), after recording this
        PR's opening; None when no registered agent proposed it."""
        agent = proposing_agent(snapshot, self.rt.gate)
        if agent is None:
            return None
        engine = self.rt.engine
        seq = agentops.record_opening(
            engine, repo=repo, pr=number, agent_id=agent.id, head_sha=snapshot.head_sha
        )
        return agent_history(
            engine,
            agent_id=agent.id,
            repo=repo,
            pr=number,
            opening_seq=seq,
            windows=[entry.gates.window_days for entry in agent.graduation],
        )

    def relevant_teams(self, snapshot: PullRequestSnapshot) -> list[str]:
        """Teams whose membership decides approvals: owners of changed paths and config approvers."""
        teams: set[str] = set()
        try:
            config = parse_repo_config(snapshot.config_text)
            for handles in config.approvers.values():
                teams.update(h[1:].lower() for h in handles if "/" in h)
        except ConfigError:
            pass
        owners = CodeOwnersMap.parse(snapshot.codeowners, source="CODEOWNERS")
        for f in snapshot.files:
            for path in {f.path, f.old_path or f.path}:
                teams.update(
                    o[1:].lower() for o in owners.owners_for(path) if o.startswith("@") and "/" in o
                )
        return sorted(teams)

    def evaluate_pr(
        self,
        installation_id: int,
        repo: str,
        number: int,
        *,
        attempt: int = 1,
        delivery_id: str | None = None,
    ) -> EvaluationOutcome | None:
        """Evaluate the PR's current head inside an `evaluation` span (a child of the delivery
        span), linked to the agent's own trace when an `Agent-Trace-Parent:` trailer names it."""
        attrs: dict[str, AttributeValue] = {telemetry.REPOSITORY: repo, telemetry.PR: number}
        if delivery_id is not None:
            attrs[telemetry.DELIVERY_ID] = delivery_id
        with telemetry.span("evaluation", attrs=attrs) as span:
            return self._evaluate_pr(
                span, installation_id, repo, number, attempt=attempt, delivery_id=delivery_id
            )

    def _evaluate_pr(
        self,
        span: Span,
        installation_id: int,
        repo: str,
        number: int,
        *,
        attempt: int,
        delivery_id: str | None,
    ) -> EvaluationOutcome | None:
        """The steps in order: fetch the PR, show a check in progress, fetch and enrich the
        snapshot, evaluate (pure), record, publish, annotate, request reviewers, label, count."""
        started = time.perf_counter()
        calls = CallLog()
        client = self.client(installation_id, calls)
        pr = client.pull(repo, number)
        if pr.get("state") != "open":
            log.info("evaluation.skipped_closed", repo=repo, pr=number)
            return None  # closed since the event: nothing to gate
        head = Head(repo, number, str(pr["head"]["sha"]), attempt, delivery_id)
        span.set_attribute(telemetry.HEAD_SHA, head.sha)
        structlog.contextvars.bind_contextvars(repo=repo, pr=number, head_sha=head.sha[:12])
        previous = store.latest_evaluation(self.rt.engine, repo, number, head.sha)
        check_run_id = self._start_check(client, head, previous)
        snapshot = fetch_snapshot(client, repo, number, pr=pr)
        snapshot, record = self._enrich(client, head, snapshot)
        evaluation = self._evaluate(client, head, check_run_id, snapshot, record)
        replay = pr_replay(self.rt, snapshot, evaluation)
        agent_trace_id = describe_evaluation(span, evaluation.report, evaluation.conclusion)
        check_run_id, annotations = self._annotations(client, head, check_run_id, evaluation)
        published = Published(
            check_run_id=check_run_id,
            api_calls=len(calls),
            trace_id=telemetry.trace_id_of(span),
            agent_trace_id=agent_trace_id,
            requested=reviewers_to_request(evaluation, previous),
            delivery_id=delivery_id,
        )
        self._record(head, snapshot, evaluation, published, record, replay)
        self._publish(client, head, check_run_id, evaluation, annotations.send, replay)
        self._annotated(head, check_run_id, annotations)
        self._request_reviewers(client, head, published.requested)
        self._labels(client, repo, number, snapshot, evaluation)
        seconds = time.perf_counter() - started
        self._count(evaluation, calls, seconds)
        return EvaluationOutcome(
            snapshot.head_sha,
            evaluation.conclusion,
            check_run_id,
            tuple(calls.calls),
            seconds,
            would_conclude=evaluation.would_conclude if evaluation.observed else None,
        )

    def _start_check(
        self, client: InstallationClient, head: Head, previous: AuditEvent | None
    ) -> int:
        """The head's check run, in progress. It comes first, so a slow or failing GitHub shows
        "Evaluating…" (never green) while the rest of the snapshot is fetched and retried."""
        found = find_check_run(self.rt.engine, client, head, previous)
        if found is not None:
            return found
        return create_check_run(
            self.rt.engine, client, head, self.details_url(head.repo, head.number)
        )

    def _enrich(
        self, client: InstallationClient, head: Head, snapshot: PullRequestSnapshot
    ) -> tuple[PullRequestSnapshot, AgentHistory | None]:
        """Add what GitHub's PR does not say: plans posted for exactly this head (never an older
        one, read from our store), the members of the teams that decide approvals, the agent's
        audited record (recording this opening), and the break-glass conversation."""
        snapshot = with_head_plans(self.rt.engine, head.repo, snapshot)
        snapshot = with_base_moves(client, self.rt.engine, snapshot)  # stale plans
        if snapshot.reviews:
            teams = self.relevant_teams(snapshot)
            if teams:
                snapshot = snapshot.model_copy(
                    update={"team_members": {t: client.team_members(t) for t in teams}}
                )
        record = self.agent_record(head.repo, head.number, snapshot)
        return with_break_glass_facts(client, self.rt.engine, snapshot), record

    def _evaluate(
        self,
        client: InstallationClient,
        head: Head,
        check_run_id: int,
        snapshot: PullRequestSnapshot,
        record: AgentHistory | None,
    ) -> Evaluation:
        """The pure gate. Fail closed: an error fails the check with the reason, then raises
        (the worker retries the delivery)."""
        try:
            waivers, exceptions = recorded_grants(self.rt.engine, head.repo, head.number)
            return evaluate_snapshot(
                snapshot,
                self.rt.gate,
                history=self.history(head.repo, head.number),
                agent_history=record,
                waivers=waivers,
                exceptions=exceptions,
                now=self.rt.clock(),
            )
        except Exception as error:
            log.exception("evaluation.failed")
            client.update_check_run(
                head.repo,
                check_run_id,
                checks.failure_body(repr(error)[:500], self.details_url(head.repo, head.number)),
            )
            raise

    def _annotations(
        self, client: InstallationClient, head: Head, check_run_id: int, evaluation: Evaluation
    ) -> tuple[int, Annotations]:
        """The check run that carries this evaluation's annotations, and whether to send them.
        GitHub cannot take annotations back: another set (new config or rules on the base,
        another policy) gets a fresh check run for this head, and that one counts from now."""
        items = checks.annotation_set(evaluation.report)
        digest = checks.annotations_digest(items)
        sent = annotations_sent(self.rt.engine, head, check_run_id)
        if sent is not None and sent != digest:
            check_run_id = create_check_run(
                self.rt.engine, client, head, self.details_url(head.repo, head.number)
            )
            sent = None
        return check_run_id, Annotations(items, digest, send=bool(items) and sent is None)

    def _record(
        self,
        head: Head,
        snapshot: PullRequestSnapshot,
        evaluation: Evaluation,
        published: Published,
        record: AgentHistory | None,
        replay: PrReplay | None = None,
    ) -> None:
        """Record before publishing: a green check must never exist without its audit record.
        A retried delivery records once; an honoured break-glass is recorded once per head."""
        report = evaluation.report
        payload = evaluation_payload(snapshot, evaluation, published, record)
        if replay is not None:  # what the check's replay section showed (a PR editing the gate)
            payload["replay"] = replay.record
        if not already_recorded(self.rt.engine, head):
            engine = self.rt.engine
            record_run_id_change(
                engine, head.repo, head.number, snapshot.head_sha, report.agent.run_id
            )
            store.append(
                engine,
                "evaluation",
                payload,
                repo=head.repo,
                pr_number=head.number,
                head_sha=snapshot.head_sha,
                agent_id=report.agent.id,
                run_id=report.agent.run_id,
            )
        record_break_glass(self.rt.engine, head.repo, head.number, report)

    def _publish(
        self,
        client: InstallationClient,
        head: Head,
        check_run_id: int,
        evaluation: Evaluation,
        with_annotations: bool,
        replay: PrReplay | None = None,
    ) -> None:
        """Complete the check run with the report (in batches when annotations need several),
        and the replay section for a PR that edits the gate."""
        bodies = checks.completed_bodies(
            evaluation.report,
            evaluation.conclusion,  # type: ignore[arg-type]
            enforced=evaluation.enforced,
            details_url=self.details_url(head.repo, head.number),
            with_annotations=with_annotations,
            appendix=replay.markdown if replay is not None else "",
        )
        checks.post_completed(client, head.repo, check_run_id, bodies)

    def _annotated(self, head: Head, check_run_id: int, annotations: Annotations) -> None:
        """Record the annotation set once GitHub has it all (a failed send is retried)."""
        if annotations.send:
            record_annotations_sent(
                self.rt.engine, head, check_run_id, annotations.digest, len(annotations.items)
            )

    def _request_reviewers(
        self, client: InstallationClient, head: Head, requested: ReviewRequest
    ) -> None:
        """Ask the missing owners and teams, only those not asked before for this head."""
        if requested.new_users or requested.new_teams:
            client.request_reviewers(
                head.repo,
                head.number,
                sorted(requested.new_users),
                sorted(t.split("/", 1)[-1] for t in requested.new_teams),
            )

    def _labels(
        self,
        client: InstallationClient,
        repo: str,
        number: int,
        snapshot: PullRequestSnapshot,
        evaluation: Evaluation,
    ) -> None:
        """The `countersign:tier-N` label, when the repo asks for labels (observe mode: none)."""
        if evaluation.observed or not evaluation.config.labels or evaluation.report.tier is None:
            return
        wanted = f"{TIER_LABEL_PREFIX}{evaluation.report.tier}"
        for label in snapshot.labels:
            if label.startswith(TIER_LABEL_PREFIX) and label != wanted:
                client.remove_label(repo, number, label)
        if wanted not in snapshot.labels:
            client.add_labels(repo, number, [wanted])

    def _count(self, evaluation: Evaluation, calls: CallLog, seconds: float) -> None:
        """Metrics and the `evaluation.done` log line: latency, conclusions, API calls made."""
        report, conclusion = evaluation.report, evaluation.conclusion
        self.rt.metrics.evaluation_seconds.observe(seconds)
        self.rt.metrics.conclusions.labels(conclusion=conclusion).inc()
        self.rt.metrics.api_calls.labels(outcome="made").inc(len(calls))
        log.info(
            "evaluation.done",
            conclusion=conclusion,
            tier=str(report.tier),
            agent=report.agent.id,
            run_id=report.agent.run_id,
            api_calls=len(calls),
            seconds=round(seconds, 3),
        )
