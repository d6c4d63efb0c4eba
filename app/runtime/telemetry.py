"""Spans of Countersign's own work: one tracer, the attribute names, errors recorded without secrets.

The audit store, the GitHub client and the service make their spans through `span()` here, so
none of them reaches up into `app.service` (where `app/runtime/tracing.py` decides, from the
environment, whether an exporter exists). The core never imports this module (import-linter).

Which provider serves `tracer()`: the one installed with `install()` (the service's OTLP set-up,
a global provider someone else set, e.g. `opentelemetry-instrument`, or a test's in-memory
exporter); with none installed, spans are skipped outright (no context switch: tracing off costs
a few microseconds per span). Installing never touches OpenTelemetry's global provider: OTel lets
that be set once per process, so a test, a benchmark or a second app in one process could not
replace it; ours is swapped and restored freely.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from app import __version__
from app.core.redact import scrub_text

TRACER_NAME = "countersign"

# Attribute names (the names; OTel semantic conventions where one exists).
AGENT_ID = "agent.id"
AGENT_RUN_ID = "agent.run_id"
AGENT_TRACE_ID = "agent.trace_id"
REPOSITORY = "github.repository"
PR = "github.pr"
HEAD_SHA = "github.head_sha"
TIER = "countersign.tier"
CONCLUSION = "countersign.conclusion"
DELIVERY_ID = "countersign.delivery.id"
DELIVERY_EVENT = "countersign.delivery.event"
DELIVERY_ACTION = "countersign.delivery.action"
DELIVERY_ATTEMPT = "countersign.delivery.attempt"
DELIVERY_OUTCOME = "countersign.delivery.outcome"
AUDIT_KIND = "countersign.audit.kind"
AUDIT_SEQ = "countersign.audit.seq"
HTTP_METHOD = "http.request.method"
HTTP_STATUS = "http.response.status_code"
URL_TEMPLATE = "url.template"
SERVER_ADDRESS = "server.address"
ERROR_TYPE = "error.type"

ERROR_MESSAGE_LIMIT = 500

_NO_OP = trace.NoOpTracer()
_installed: Tracer | None = None


def tracer() -> Tracer:
    """The tracer Countersign's spans come from (see the module docstring)."""
    return _installed if _installed is not None else _NO_OP


def install(provider: TracerProvider) -> Callable[[], None]:
    """Make `provider` serve Countersign's spans; returns the function that restores the one
    before (call it when the provider is shut down)."""
    global _installed
    previous = _installed
    mine = provider.get_tracer(TRACER_NAME, __version__)
    _installed = mine

    def restore() -> None:
        global _installed
        if _installed is mine:  # a later install that was not restored yet stays
            _installed = previous

    return restore


@contextmanager
def installed(provider: TracerProvider) -> Iterator[TracerProvider]:
    """`install` for a block (tests, benchmarks)."""
    restore = install(provider)
    try:
        yield provider
    finally:
        restore()


def attributes(**values: AttributeValue | None) -> dict[str, AttributeValue]:
    """Span attributes without the unknown ones (OTel rejects None values)."""
    return {k: v for k, v in values.items() if v is not None}


def record_error(span: Span, error: BaseException) -> None:
    """Status ERROR and an `exception` event, with credentials scrubbed from the message and no
    stack trace (whose last line repeats the message, and whose frames can quote arguments)."""
    kind = type(error).__qualname__
    message = scrub_text(str(error))[:ERROR_MESSAGE_LIMIT]
    span.set_status(Status(StatusCode.ERROR, f"{kind}: {message}"))
    span.set_attribute(ERROR_TYPE, kind)
    span.add_event("exception", {"exception.type": kind, "exception.message": message})


@contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attrs: Mapping[str, AttributeValue] | None = None,
) -> Iterator[Span]:
    """A current span; an exception leaving the block is recorded (scrubbed) and re-raised."""
    if _installed is None:  # tracing off
        yield trace.INVALID_SPAN
        return
    with _installed.start_as_current_span(
        name,
        kind=kind,
        attributes=attrs,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except Exception as error:
            record_error(current, error)
            raise


def trace_id_of(current: Span) -> str | None:
    """The hex trace id of a recording span (None when tracing is off)."""
    context = current.get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None
