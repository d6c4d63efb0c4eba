"""Evaluate one PR head end to end: fetch, evaluate (pure), publish, record.

Idempotent by design so at-least-once delivery gives exactly-once effects: the check run for a
head SHA is found (our audit record, or GitHub on a retry) before one is created; reviewers are
requested once per SHA; every evaluation is one audit event.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import structlog
from opentelemetry.trace import Span
from opentelemetry.util.types import AttributeValue

from app.agentops.history import AgentHistory
from app.agentops.reverts import revert_refs
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
from app.service.break_glass_facts import record_break_glass, with_break_glass_facts
from app.store import inbox
from app.store.audit import agent_events as agentops
from app.store.audit import store
from app.store.audit.records import EvaluationRecord
from app.store.plans import MAX_PLANS_PER_HEAD, plans_for

TIER_LABEL_PREFIX = "countersign:tier-"
CHECK_RUN_CREATED = "check_run_created"
ANNOTATIONS_SENT = "annotations_sent"
"""Audit bookkeeping: which annotation set (digest) a check run carries, so it is sent once."""


@dataclass(frozen=True)
class ReviewRequest:
    already: frozenset[str]
    users: frozenset[str]
    teams: frozenset[str]
    new_users: frozenset[str]
    new_teams: frozenset[str]


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
        return agentops.agent_history(
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
        started = time.perf_counter()
        calls = CallLog()
        client = self.client(installation_id, calls)
        pr = client.pull(repo, number)
        if pr.get("state") != "open":
            log.info("evaluation.skipped_closed", repo=repo, pr=number)
            return None  # closed since the event: nothing to gate
        head_sha = str(pr["head"]["sha"])
        span.set_attribute(telemetry.HEAD_SHA, head_sha)
        structlog.contextvars.bind_contextvars(repo=repo, pr=number, head_sha=head_sha[:12])
        previous = store.latest_evaluation(self.rt.engine, repo, number, head_sha)
        # The in-progress check comes first, so a slow or failing GitHub shows "Evaluating…"
        # (never green) while the rest of the snapshot is fetched and retried.
        check_run_id = self._check_run_id(
            client, repo, number, head_sha, previous, attempt, delivery_id
        )
        if check_run_id is None:
            check_run_id = self._create_check_run(client, repo, number, head_sha)
        snapshot = fetch_snapshot(client, repo, number, pr=pr)
        # Plans posted for exactly this head (never an older one), read from our store.
        plans = plans_for(self.rt.engine, repo, snapshot.head_sha)
        too_many = (
            (f"more than {MAX_PLANS_PER_HEAD} different plans were posted for this head",)
            if len(plans) > MAX_PLANS_PER_HEAD
            else ()
        )
        snapshot = snapshot.model_copy(
            update={
                "plans": plans[:MAX_PLANS_PER_HEAD],
                "problems": snapshot.problems + too_many,
            }
        )
        if snapshot.reviews:
            teams = self.relevant_teams(snapshot)
            if teams:
                snapshot = snapshot.model_copy(
                    update={"team_members": {t: client.team_members(t) for t in teams}}
                )
        record = self.agent_record(repo, number, snapshot)
        snapshot = with_break_glass_facts(client, self.rt.engine, snapshot)
        try:
            evaluation = evaluate_snapshot(
                snapshot, self.rt.gate, history=self.history(repo, number), agent_history=record
            )
        except Exception as error:  # fail closed with the reason on the check
            log.exception("evaluation.failed")
            client.update_check_run(
                repo,
                check_run_id,
                checks.failure_body(repr(error)[:500], self.details_url(repo, number)),
            )
            raise
        conclusion = evaluation.conclusion
        report = evaluation.report
        agent_trace_id = describe_evaluation(span, report, conclusion)
        annotations = checks.annotation_set(report)
        digest = checks.annotations_digest(annotations)
        sent = self._annotations_sent(repo, number, check_run_id)
        if sent is not None and sent != digest:
            # GitHub cannot take annotations back: another set (new config or rules on the base,
            # another policy) gets a fresh check run for this head, and that one counts from now.
            check_run_id = self._create_check_run(client, repo, number, head_sha)
            sent = None
        send_annotations = bool(annotations) and sent is None
        requested = self._reviewers_to_request(evaluation, previous)
        # Record before publishing: a green check must never exist without its audit record.
        payload = EvaluationRecord(
            report=report.model_dump(mode="json"),
            head_sha=snapshot.head_sha,
            base_sha=snapshot.base_sha or None,
            policy_version=report.policy_version or "",
            conclusion=conclusion,
            check_run_id=check_run_id,
            api_calls=len(calls),
            trace_id=telemetry.trace_id_of(span),
            agent_trace_id=agent_trace_id,
            observed=evaluation.observed,
            would_conclude=evaluation.would_conclude if evaluation.observed else None,
        ).model_dump(mode="json")
        payload["requested_reviewers"] = sorted(
            requested.already | requested.users | requested.teams
        )
        payload["delivery_id"] = delivery_id
        if record is not None:  # the rate-limit figures (the ramp's are in report.graduation)
            payload["agent_record"] = agentops.opening_counts(record)
        refs = revert_refs(
            repo, [snapshot.title, snapshot.body, *(c.message for c in snapshot.commits)]
        )
        if refs:  # kept for the merge record: which earlier merges this PR reverts
            payload["reverts"] = refs.model_dump(mode="json")
        # A retried delivery (a crash after this append) publishes again but records once.
        recorded = (
            attempt > 1
            and delivery_id is not None
            and any(
                e.data().get("delivery_id") == delivery_id
                for e in store.evaluations_for_pr(self.rt.engine, repo, number)
            )
        )
        if not recorded:
            self._record_run_id_change(repo, number, snapshot.head_sha, report.agent.run_id)
            store.append(
                self.rt.engine,
                "evaluation",
                payload,
                repo=repo,
                pr_number=number,
                head_sha=snapshot.head_sha,
                agent_id=report.agent.id,
                run_id=report.agent.run_id,
            )
        record_break_glass(self.rt.engine, repo, number, report)
        bodies = checks.completed_bodies(
            report,
            conclusion,  # type: ignore[arg-type]
            enforced=evaluation.enforced,
            details_url=self.details_url(repo, number),
            with_annotations=send_annotations,
        )
        checks.post_completed(client, repo, check_run_id, bodies)
        if send_annotations:  # recorded once GitHub has them all, so a failed send is retried
            store.append(
                self.rt.engine,
                ANNOTATIONS_SENT,
                {"check_run_id": check_run_id, "digest": digest, "count": len(annotations)},
                repo=repo,
                pr_number=number,
                head_sha=head_sha,
            )
        if requested.new_users or requested.new_teams:
            client.request_reviewers(
                repo,
                number,
                sorted(requested.new_users),
                sorted(t.split("/", 1)[-1] for t in requested.new_teams),
            )
        self._labels(client, repo, number, snapshot, evaluation)
        seconds = time.perf_counter() - started
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
        return EvaluationOutcome(
            snapshot.head_sha,
            conclusion,
            check_run_id,
            tuple(calls.calls),
            seconds,
            would_conclude=evaluation.would_conclude if evaluation.observed else None,
        )

    def _create_check_run(
        self, client: InstallationClient, repo: str, number: int, head_sha: str
    ) -> int:
        created = client.create_check_run(
            repo,
            checks.in_progress_body(
                head_sha,
                self.details_url(repo, number),
                checks.external_id(repo, number, head_sha),
            ),
        )
        check_run_id = int(created["id"])
        # Recorded at once (we hold the PR's lock), so the next delivery for this head
        # reuses it: one check run per SHA (per annotation set).
        store.append(
            self.rt.engine,
            CHECK_RUN_CREATED,
            {"head_sha": head_sha, "check_run_id": check_run_id},
            repo=repo,
            pr_number=number,
            head_sha=head_sha,
        )
        return check_run_id

    def _annotations_sent(self, repo: str, number: int, check_run_id: int) -> str | None:
        """The digest of the annotations this check run already carries, or None."""
        for event in reversed(
            store.events_for_pr(self.rt.engine, repo, number, kinds=(ANNOTATIONS_SENT,))
        ):
            data = event.data()
            if data.get("check_run_id") == check_run_id:
                return str(data["digest"])
        return None

    def _record_run_id_change(
        self, repo: str, number: int, head_sha: str, run_id: str | None
    ) -> None:
        """A PR whose run ID changes after evaluation is re-linked: say so in the audit trail."""
        events = store.evaluations_for_pr(self.rt.engine, repo, number)
        if not events or events[-1].run_id == run_id:
            return
        store.append(
            self.rt.engine,
            "run_id_changed",
            {"before": events[-1].run_id, "after": run_id, "head_sha": head_sha},
            repo=repo,
            pr_number=number,
            head_sha=head_sha,
            run_id=run_id,
        )

    def _check_run_id(
        self,
        client: InstallationClient,
        repo: str,
        number: int,
        sha: str,
        previous: Any,
        attempt: int,
        delivery_id: str | None,
    ) -> int | None:
        """The check run already made for this head: ours on record (the newest, when a changed
        annotation set opened another), or GitHub's after a crash."""
        for event in reversed(
            store.events_for_pr(self.rt.engine, repo, number, kinds=(CHECK_RUN_CREATED,))
        ):
            if event.head_sha == sha:
                return int(event.data()["check_run_id"])
        if previous is not None and previous.data().get("check_run_id"):
            return int(previous.data()["check_run_id"])
        cut_short = attempt > 1 or (
            delivery_id is not None
            and inbox.interrupted_for(self.rt.engine, repo, number, delivery_id)
        )
        if cut_short:  # a crash may have created one without recording it
            runs = client.check_runs_for(repo, sha, checks.CHECK_NAME)
            if runs:
                return int(runs[0]["id"])
        return None

    def _reviewers_to_request(self, evaluation: Evaluation, previous: Any) -> ReviewRequest:
        """Missing owners/teams, asked once per SHA (never agents, never the author); nobody in
        observe mode."""
        already: set[str] = set()
        if previous is not None:
            already = set(previous.data().get("requested_reviewers") or [])
        if evaluation.observed:
            empty: frozenset[str] = frozenset()
            return ReviewRequest(frozenset(already), empty, empty, empty, empty)
        author = (evaluation.report.agent.author or "").lower()
        users = {
            u
            for u in evaluation.to_request_users
            if u.lower() != author and not u.endswith("[bot]")
        }
        teams = {f"team:{t}" for t in evaluation.to_request_teams}
        return ReviewRequest(
            already=frozenset(already),
            users=frozenset(users),
            teams=frozenset(teams),
            new_users=frozenset(users - already),
            new_teams=frozenset(t[5:] for t in teams - already),
        )

    def _labels(
        self,
        client: InstallationClient,
        repo: str,
        number: int,
        snapshot: PullRequestSnapshot,
        evaluation: Evaluation,
    ) -> None:
        if evaluation.observed or not evaluation.config.labels or evaluation.report.tier is None:
            return  # observe mode labels nothing
        wanted = f"{TIER_LABEL_PREFIX}{evaluation.report.tier}"
        for label in snapshot.labels:
            if label.startswith(TIER_LABEL_PREFIX) and label != wanted:
                client.remove_label(repo, number, label)
        if wanted not in snapshot.labels:
            client.add_labels(repo, number, [wanted])


def decode_payload(raw: bytes) -> dict[str, Any]:
    data = json.loads(raw)
    return data if isinstance(data, dict) else {}
