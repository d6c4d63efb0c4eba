"""app.runtime.telemetry: a swappable tracer that never touches the global provider, and errors on spans
without credentials."""

from __future__ import annotations

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from app.core.errors import GitHubError
from app.runtime import telemetry


def provider_with(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def test_installs_nest_and_restore_without_touching_the_global_provider() -> None:
    outer, inner = InMemorySpanExporter(), InMemorySpanExporter()
    global_before = trace.get_tracer_provider()
    with telemetry.installed(provider_with(outer)):
        with telemetry.installed(provider_with(inner)):
            with telemetry.span("inner"):
                pass
        with telemetry.span("outer"):
            pass
    with telemetry.span("after") as after:
        assert not after.is_recording()  # back to the (no-op) global provider
    assert [s.name for s in inner.get_finished_spans()] == ["inner"]
    assert [s.name for s in outer.get_finished_spans()] == ["outer"]
    assert trace.get_tracer_provider() is global_before
    assert telemetry.trace_id_of(after) is None


def test_restoring_out_of_order_keeps_the_newer_install() -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    restore_first = telemetry.install(provider_with(first))
    restore_second = telemetry.install(provider_with(second))
    restore_first()  # the newer install stays in force
    with telemetry.span("x"):
        pass
    restore_second()
    assert [s.name for s in second.get_finished_spans()] == ["x"]
    assert first.get_finished_spans() == ()


def test_an_error_leaving_a_span_is_recorded_scrubbed_and_reraised() -> None:
    exporter = InMemorySpanExporter()
    token = "ghs_16C7e42F292c6912E7710c838347Ae178B4a"
    with telemetry.installed(provider_with(exporter)):
        with pytest.raises(GitHubError), telemetry.span("evaluation", attrs={"github.pr": 7}):
            raise GitHubError(f"GitHub refused token {token} for postgres://u:hunter2@db/x")
    [span] = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description is not None
    assert span.status.description.startswith("GitHubError: GitHub refused token <redacted>")
    assert (span.attributes or {})[telemetry.ERROR_TYPE] == "GitHubError"
    [event] = span.events
    assert event.name == "exception"
    assert "exception.stacktrace" not in (event.attributes or {})
    exported = span.to_json()
    assert token not in exported and "hunter2" not in exported


def test_attributes_drop_unknown_values() -> None:
    assert telemetry.attributes(**{"agent.id": "a", "agent.run_id": None, "github.pr": 0}) == {
        "agent.id": "a",
        "github.pr": 0,
    }
