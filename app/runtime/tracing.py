"""Tracing in the service: export set-up from the standard OpenTelemetry environment variables
(once per service), and what an evaluation span says about its outcome and the agent's trace.

- `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) set: an SDK tracer
  provider with a batching OTLP/HTTP (protobuf) exporter, installed for Countersign's spans.
  The exporter itself reads `OTEL_EXPORTER_OTLP_HEADERS`, `…_TIMEOUT`, `…_COMPRESSION` and the
  certificate variables; the provider reads `OTEL_TRACES_SAMPLER`; the resource reads
  `OTEL_SERVICE_NAME` (default `countersign`) and `OTEL_RESOURCE_ATTRIBUTES`.
- Not set, `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none`: nothing is built and nothing
  is sent anywhere; spans are OpenTelemetry's no-op spans.
- A global provider already set by someone else (`opentelemetry-instrument`): Countersign's spans
  go to it, and it is theirs to export and shut down (`shutdown()` only uninstalls it).

The provider is installed with `app.runtime.telemetry.install`, never as OpenTelemetry's global provider
(which can be set only once per process), so `shutdown()` restores the state before.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from opentelemetry import trace
from opentelemetry.trace import Span, SpanContext, TraceFlags

from app import __version__
from app.config.settings import SettingsError
from app.core.report import Report
from app.runtime import telemetry

Mode = Literal["off", "otlp", "external"]
ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
PROTOCOL_VARS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
SERVICE_NAME = "countersign"


@dataclass
class Tracing:
    """What `setup_tracing` built; `shutdown()` flushes the spans still queued and uninstalls."""

    mode: Mode = "off"
    endpoint: str | None = None
    _shutdown: Callable[[], None] | None = field(default=None, repr=False)

    def shutdown(self) -> None:
        if self._shutdown is not None:
            self._shutdown()
            self._shutdown = None


def _endpoint(env: Mapping[str, str]) -> tuple[str, str] | None:
    for name in ENDPOINT_VARS:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def _check(env: Mapping[str, str], name: str, endpoint: str) -> None:
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{name}={endpoint!r} is not an http(s) URL",
            hint=f"set {name} to the collector's OTLP/HTTP address, e.g. http://127.0.0.1:4318",
        )
    for var in PROTOCOL_VARS:
        protocol = env.get(var, "").strip()
        if protocol and protocol != "http/protobuf":
            raise SettingsError(
                f"{var}={protocol!r}: Countersign exports traces over OTLP/HTTP only",
                hint=f"unset {var} or set it to http/protobuf (the collector's port 4318)",
            )


def setup_tracing() -> Tracing:
    """Build trace export from the environment (see the module docstring). The exporter and
    the resource read the same variables from `os.environ` themselves."""
    env = os.environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return Tracing()
    if env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "none":
        return Tracing()
    existing = trace.get_tracer_provider()
    if not isinstance(existing, trace.ProxyTracerProvider):
        return Tracing(mode="external", _shutdown=telemetry.install(existing))
    found = _endpoint(env)
    if found is None:
        return Tracing()
    name, endpoint = found
    _check(env, name, endpoint)
    # Imported here: a service without an endpoint never loads the exporter (nor requests).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    defaults: dict[str, str] = {"service.version": __version__}
    if not env.get("OTEL_SERVICE_NAME"):
        defaults["service.name"] = SERVICE_NAME
    provider = TracerProvider(resource=Resource.create(defaults))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    restore = telemetry.install(provider)

    def shutdown() -> None:
        restore()
        provider.shutdown()  # flushes what the batch processor still holds

    return Tracing(mode="otlp", endpoint=endpoint, _shutdown=shutdown)


def describe_evaluation(span: Span, report: Report, conclusion: str) -> str | None:
    """Put the outcome on the evaluation span and link the agent's trace; returns its trace id.

    A span Link, not a parent: the trailer is read from the PR, which is fetched inside this span;
    the delivery that caused the evaluation is its true parent; and a PR is evaluated again on
    every push and review, hours apart, which as children would stretch the agent's trace over
    days. OpenTelemetry links asynchronous consumers to their producer's context the same way.
    """
    agent = report.agent
    span.set_attributes(
        telemetry.attributes(
            **{
                telemetry.AGENT_ID: agent.id,
                telemetry.AGENT_RUN_ID: agent.run_id,
                telemetry.TIER: None if report.tier is None else str(report.tier),
                telemetry.CONCLUSION: conclusion,
            }
        )
    )
    if agent.trace_parent is None:  # validated by app.gate.trailers: `00-<trace>-<span>-<flags>`
        return None
    _, trace_hex, span_hex, flags = agent.trace_parent.split("-")
    remote = SpanContext(
        trace_id=int(trace_hex, 16),
        span_id=int(span_hex, 16),
        is_remote=True,
        trace_flags=TraceFlags(int(flags, 16) & TraceFlags.SAMPLED),
    )
    span.add_link(remote, {"countersign.link": "Agent-Trace-Parent"})
    span.set_attribute(telemetry.AGENT_TRACE_ID, trace_hex)
    return trace_hex
