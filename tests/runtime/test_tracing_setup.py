"""Trace export set-up: OTLP/HTTP only when an endpoint is set, nothing (and no network) otherwise.

The OTLP test runs the whole service against the simulator with `OTEL_EXPORTER_OTLP_ENDPOINT`
pointing at a collector stand-in on 127.0.0.1 that decodes what it receives. Tests that need a
pristine process (the global provider, which OpenTelemetry lets be set once) run in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from app.config.settings import SettingsError
from app.demo.stack import LocalStack
from app.runtime.tracing import setup_tracing
from app.sim.scenario import apply_setup
from tests.stacks import session_key_pair

ROOT = Path(__file__).resolve().parents[2]
OTEL_VARS = (
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)


class Collector:
    """A stand-in OTLP/HTTP collector on 127.0.0.1: decodes each export into span records."""

    def __init__(self) -> None:
        self.spans: list[dict[str, object]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold a handler thread for longer

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ExportTraceServiceRequest.FromString(body)
                with collector.lock:
                    collector.paths.append(self.path)
                    for resource_spans in request.resource_spans:
                        resource = _attrs(resource_spans.resource.attributes)
                        for scope_spans in resource_spans.scope_spans:
                            for span in scope_spans.spans:
                                collector.spans.append(
                                    {
                                        "name": span.name,
                                        "attributes": _attrs(span.attributes),
                                        "resource": resource,
                                        "scope": scope_spans.scope.name,
                                        "trace_id": span.trace_id.hex(),
                                        "parent": span.parent_span_id.hex(),
                                        "span_id": span.span_id.hex(),
                                    }
                                )
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Collector:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def _attrs(values: object) -> dict[str, object]:
    out: dict[str, object] = {}
    for kv in values:  # type: ignore[attr-defined]
        value: AnyValue = kv.value
        out[kv.key] = getattr(value, value.WhichOneof("value") or "string_value")
    return out


@pytest.fixture
def collector() -> Iterator[Collector]:
    with Collector() as c:
        yield c


SETUP = {
    "org": "acme",
    "users": ["alice", {"login": "docs-bot[bot]", "type": "Bot"}],
    "repos": {"acme/docs": {"files": {"README.md": "# docs\n"}}},
    "install": True,
}


@pytest.mark.e2e
def test_otlp_endpoint_receives_the_service_spans(
    collector: Collector, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
    with LocalStack(sqlite_url, key_pair=session_key_pair()) as stack:
        assert stack.runtime is not None and stack.runtime.tracing is not None
        assert stack.runtime.tracing.mode == "otlp"
        apply_setup(stack.sim, SETUP)
        pr = stack.sim.open_pr(
            "acme/docs",
            "docs-bot[bot]",
            "agent/readme",
            {"README.md": "# docs\nMore.\n"},
            title="Docs",
            body="Reword.\n\nAgent-Run-Id: run_otlp_1",
        )
        stack.sim.wait_for(
            lambda: (stack.sim.latest_check(pr) or pr).__dict__.get("conclusion") == "success",
            30,
            "a green check",
        )
        stack.wait_processed()
    # Leaving the stack shut the provider down, which flushed the batch to the collector.
    assert set(collector.paths) == {"/v1/traces"}
    evaluations = [s for s in collector.spans if s["name"] == "evaluation"]
    [evaluation] = [
        s
        for s in evaluations
        if s["attributes"]["agent.run_id"] == "run_otlp_1"  # type: ignore[index]
    ]
    assert evaluation["resource"]["service.name"] == "countersign"  # type: ignore[index]
    assert evaluation["scope"] == "countersign"
    [delivery] = [s for s in collector.spans if s["span_id"] == evaluation["parent"]]
    assert delivery["name"] == "delivery pull_request"
    assert delivery["parent"] == ""  # the root
    names = {s["name"] for s in collector.spans if s["trace_id"] == evaluation["trace_id"]}
    assert {"audit.append", "GET /repos/{owner}/{repo}/pulls/{pull_number}"} <= names


_NO_ENDPOINT_SCRIPT = """
import socket, sys
attempts = []
def refuse(self, address):
    attempts.append(address)
    raise OSError("network refused by the test")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = lambda address, *a, **k: refuse(None, address)

from app.runtime import telemetry
from app.runtime.tracing import setup_tracing

tracing = setup_tracing()
with telemetry.span("evaluation", attrs={"agent.run_id": "r1"}) as span:
    recording = span.is_recording()
tracing.shutdown()
loaded = sorted(m for m in sys.modules if m.startswith(("opentelemetry.exporter", "requests")))
print(tracing.mode, recording, attempts, loaded)
"""


def _run(script: str, **env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_no_endpoint_means_no_exporter_no_network_no_crash() -> None:
    assert _run(_NO_ENDPOINT_SCRIPT) == "off False [] []"


def test_sdk_disabled_wins_over_an_endpoint() -> None:
    out = _run(
        _NO_ENDPOINT_SCRIPT,
        OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9",
        OTEL_SDK_DISABLED="true",
    )
    assert out == "off False [] []"


def test_a_global_provider_set_by_someone_else_gets_our_spans() -> None:
    script = """
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # what `opentelemetry-instrument` does

    from app.runtime import telemetry
    from app.runtime.tracing import setup_tracing

    tracing = setup_tracing()
    with telemetry.span("evaluation"):
        pass
    tracing.shutdown()
    print(tracing.mode, [s.name for s in exporter.get_finished_spans()])
    """
    out = _run(script, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9")
    assert out == "external ['evaluation']"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"}, "is not an http(s) URL"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://c:4317"}, "is not an http(s) URL"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "exports traces over OTLP/HTTP only",
        ),
    ],
)
def test_unusable_settings_are_a_clear_start_up_error(
    env: dict[str, str], message: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP") as raised:
        setup_tracing()
    assert message in str(raised.value)
