"""Traces end to end: the real service against the GitHub simulator, spans in an in-memory exporter.

One delivery is one trace: `delivery <event>` (consumer, the root) → `evaluation` → a client span
per GitHub call and an `audit.append` per audit event. An `Agent-Trace-Parent:` trailer links the
evaluation to the agent's own trace; a bad one is ignored with a note.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode, format_trace_id

from app.demo.stack import LocalStack
from app.github.routes import TEMPLATES
from app.runtime import telemetry
from app.service.reconcile import reconcile
from app.sim.faults import Fault
from app.sim.state import PullRequest
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

REPO = "acme/docs"
SETUP = {
    "org": "acme",
    "users": ["alice", {"login": "docs-bot[bot]", "type": "Bot"}],
    "teams": {"writers": ["alice"]},
    "repos": {
        REPO: {
            "files": {
                "README.md": "# docs\n",
                ".github/CODEOWNERS": "* @acme/writers\n",
            }
        }
    },
    "install": True,
}
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACE = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with telemetry.installed(provider):
        yield exporter
    provider.shutdown()


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    url = f"sqlite:///{tmp_path_factory.mktemp('tracing') / 'c.db'}"
    with local_stack(url, retry_base_seconds=0.05, github_timeout_seconds=2.0) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack, spans: InMemorySpanExporter) -> LocalStack:
    fresh(running, SETUP)
    spans.clear()  # the set-up's own deliveries
    return running


def open_docs_pr(stack: LocalStack, body: str) -> PullRequest:
    return stack.sim.open_pr(
        REPO,
        "docs-bot[bot]",
        "agent/readme",
        {"README.md": "# docs\nMore.\n"},
        title="Docs",
        body=body,
    )


def wait_success(
    stack: LocalStack, pr: PullRequest, spans: InMemorySpanExporter, *, attempts: int = 1
) -> None:
    """A green check, every delivery handled, and the `opened` delivery spans ended: a delivery
    span ends just after its inbox row is completed, so the inbox alone says too little."""
    stack.sim.wait_for(
        lambda: (stack.sim.latest_check(pr) or pr).__dict__.get("conclusion") == "success",
        30,
        "a green check",
    )
    stack.wait_processed()
    stack.sim.wait_for(
        lambda: len(opened_deliveries(spans.get_finished_spans(), pr)) >= attempts,
        30,
        f"{attempts} ended `delivery pull_request` span(s) of the opening",
    )


def opened_deliveries(all_spans: tuple[ReadableSpan, ...], pr: PullRequest) -> list[ReadableSpan]:
    return [
        s
        for s in all_spans
        if s.name == "delivery pull_request"
        and (s.attributes or {}).get(telemetry.PR) == pr.number
        and (s.attributes or {}).get(telemetry.DELIVERY_ACTION) == "opened"
    ]


def children(all_spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    span_id = parent.context.span_id if parent.context else None
    return [s for s in all_spans if s.parent is not None and s.parent.span_id == span_id]


def pr_evaluations(all_spans: tuple[ReadableSpan, ...], pr: PullRequest) -> list[ReadableSpan]:
    return [
        s
        for s in all_spans
        if s.name == "evaluation" and (s.attributes or {}).get(telemetry.PR) == pr.number
    ]


def test_one_delivery_is_one_trace_carrying_the_run_id(
    stack: LocalStack, spans: InMemorySpanExporter
) -> None:
    stack.sim.requests.clear()
    pr = open_docs_pr(stack, f"Reword.\n\nAgent-Run-Id: run_docs_7\nAgent-Trace-Parent: {TRACE}")
    wait_success(stack, pr, spans)
    finished = spans.get_finished_spans()
    [evaluation] = pr_evaluations(finished, pr)
    attrs = dict(evaluation.attributes or {})
    assert attrs[telemetry.AGENT_RUN_ID] == "run_docs_7"
    assert attrs[telemetry.REPOSITORY] == REPO
    assert attrs[telemetry.TIER] == "0"
    assert attrs[telemetry.CONCLUSION] == "success"
    assert attrs[telemetry.HEAD_SHA] == pr.head_sha

    # The delivery span is the root of the trace and the evaluation's parent.
    [delivery] = [
        s for s in finished if evaluation.parent and s.context.span_id == evaluation.parent.span_id
    ]  # type: ignore[union-attr]
    assert delivery.parent is None
    assert delivery.kind is SpanKind.CONSUMER
    assert delivery.name == "delivery pull_request"
    d_attrs = dict(delivery.attributes or {})
    assert d_attrs[telemetry.DELIVERY_EVENT] == "pull_request"
    assert d_attrs[telemetry.DELIVERY_ACTION] == "opened"
    assert d_attrs[telemetry.DELIVERY_OUTCOME] == "done"
    assert d_attrs[telemetry.PR] == pr.number
    assert attrs[telemetry.DELIVERY_ID] == d_attrs[telemetry.DELIVERY_ID]
    assert evaluation.context.trace_id == delivery.context.trace_id  # type: ignore[union-attr]

    # Every GitHub call of the evaluation is a client span under it, named by route template.
    calls = [s for s in children(finished, evaluation) if s.kind is SpanKind.CLIENT]
    assert {s.name for s in calls} >= {
        "GET /repos/{owner}/{repo}/pulls/{pull_number}",
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/files",
        "POST /graphql",
        "POST /repos/{owner}/{repo}/check-runs",
        "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}",
    }
    for call in calls:
        c_attrs = dict(call.attributes or {})
        assert c_attrs[telemetry.URL_TEMPLATE] in TEMPLATES
        assert call.name == f"{c_attrs[telemetry.HTTP_METHOD]} {c_attrs[telemetry.URL_TEMPLATE]}"
        assert 200 <= int(c_attrs[telemetry.HTTP_STATUS]) < 300  # type: ignore[arg-type]
        assert call.status.status_code is StatusCode.UNSET
    # … one span per request GitHub saw (token requests are githubkit's own, inside a call).
    seen = [r for r in stack.sim.requests if "/access_tokens" not in r]
    assert len(calls) == len(seen), (sorted(s.name for s in calls), seen)

    # Audit appends are children of the evaluation and carry the run ID.
    appends = {
        (s.attributes or {}).get(telemetry.AUDIT_KIND): s
        for s in children(finished, evaluation)
        if s.name == "audit.append"
    }
    assert {"check_run_created", "evaluation"} <= set(appends)
    record_span = appends["evaluation"]
    assert (record_span.attributes or {})[telemetry.AGENT_RUN_ID] == "run_docs_7"
    assert (record_span.attributes or {})[telemetry.AGENT_ID] == attrs[telemetry.AGENT_ID]

    # The trailer links the agent's trace; the evaluation stays in the delivery's trace.
    [link] = evaluation.links
    assert format_trace_id(link.context.trace_id) == TRACE_ID
    assert f"{link.context.span_id:016x}" == PARENT_ID
    assert link.context.is_remote and link.context.trace_flags.sampled
    assert attrs[telemetry.AGENT_TRACE_ID] == TRACE_ID

    # The audit record names both traces.
    assert stack.runtime is not None
    [event] = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
    data = event.data()
    assert data["agent_trace_id"] == TRACE_ID
    assert data["trace_id"] == format_trace_id(evaluation.context.trace_id)  # type: ignore[union-attr]
    assert data["report"]["agent"]["trace_parent"] == TRACE
    assert event.seq == (record_span.attributes or {})[telemetry.AUDIT_SEQ]
    run = stack.sim.latest_check(pr)
    assert run is not None and f"| Agent trace | `{TRACE_ID}` |" in (run.summary or "")


def test_bad_trace_parent_is_ignored_with_a_note(
    stack: LocalStack, spans: InMemorySpanExporter
) -> None:
    bad = f"00-{TRACE_ID.upper()}-{PARENT_ID}-01"
    pr = open_docs_pr(stack, f"Reword.\n\nAgent-Run-Id: run_docs_8\nAgent-Trace-Parent: {bad}")
    wait_success(stack, pr, spans)  # a bad trace link fails nothing
    [evaluation] = pr_evaluations(spans.get_finished_spans(), pr)
    assert evaluation.links == ()
    assert telemetry.AGENT_TRACE_ID not in (evaluation.attributes or {})
    assert (evaluation.attributes or {})[telemetry.AGENT_RUN_ID] == "run_docs_8"
    assert stack.runtime is not None
    [event] = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))
    data = event.data()
    assert data["agent_trace_id"] is None
    assert data["report"]["agent"]["notes"] == [
        f"PR body: Agent-Trace-Parent '{bad}' ignored: it must be lower-case hex"
    ]
    run = stack.sim.latest_check(pr)
    assert run is not None and "**Notes**" in (run.summary or "")


def test_a_failed_attempt_is_an_error_span_without_secrets_then_a_clean_retry(
    stack: LocalStack, spans: InMemorySpanExporter
) -> None:
    stack.sim.faults.inject("GET", "/repos/*/*/pulls/*", Fault.error(502, "Bad Gateway"), times=1)
    pr = open_docs_pr(stack, "Reword.\n\nAgent-Run-Id: run_docs_9")
    wait_success(stack, pr, spans, attempts=2)
    finished = spans.get_finished_spans()
    failed, retried = sorted(opened_deliveries(finished, pr), key=lambda s: s.start_time or 0)
    assert failed.status.status_code is StatusCode.ERROR
    assert "GitHubUnavailable: GitHub answered 502" in (failed.status.description or "")
    assert (failed.attributes or {})[telemetry.DELIVERY_OUTCOME] == "pending"
    assert (failed.attributes or {})[telemetry.DELIVERY_ATTEMPT] == 1
    [evaluation] = children(finished, failed)
    assert evaluation.status.status_code is StatusCode.ERROR
    [call] = children(finished, evaluation)
    assert call.name == "GET /repos/{owner}/{repo}/pulls/{pull_number}"
    assert (call.attributes or {})[telemetry.HTTP_STATUS] == 502
    assert call.status.status_code is StatusCode.ERROR
    assert (call.attributes or {})[telemetry.ERROR_TYPE] == "GitHubUnavailable"
    assert retried.status.status_code is StatusCode.UNSET
    assert (retried.attributes or {})[telemetry.DELIVERY_OUTCOME] == "done"
    assert (retried.attributes or {})[telemetry.DELIVERY_ATTEMPT] == 2
    # No credential anywhere in what would be exported.
    exported = "".join(s.to_json() for s in finished)
    assert "ghs_" not in exported
    assert stack.webhook_secret not in exported
    assert "PRIVATE KEY" not in exported


def test_reconcile_is_the_root_of_its_github_calls(
    stack: LocalStack, spans: InMemorySpanExporter
) -> None:
    stack.sim.drop_next_deliveries(1)  # the App never hears of this PR: the sweep must find it
    pr = open_docs_pr(stack, "Reword.\n\nAgent-Run-Id: run_docs_10")
    stack.wait_processed()
    spans.clear()
    assert stack.runtime is not None
    reconcile(stack.runtime)
    wait_success(stack, pr, spans)
    finished = spans.get_finished_spans()
    [root] = [s for s in finished if s.name == "reconcile"]
    assert root.parent is None
    assert (root.attributes or {})["countersign.reconcile.redelivered"] == 1
    calls = {s.name for s in children(finished, root)}
    assert {"GET /app/hook/deliveries", "GET /app/installations"} <= calls
    # What reconcile queued (the redelivered webhook, the sweep's re-evaluation) is processed
    # as deliveries of their own, each its own trace, never inside reconcile's.
    evaluations = pr_evaluations(finished, pr)
    assert evaluations
    for evaluation in evaluations:
        assert evaluation.context.trace_id != root.context.trace_id  # type: ignore[union-attr]
