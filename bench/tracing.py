"""What tracing costs: PR opened → `countersign` check completed, tracing off vs on, in one process.

The real service (uvicorn, SQLite, one worker) and the GitHub simulator run on 127.0.0.1, as in
bench/e2e.py; an agent opens a mixed PR (Terraform, Kubernetes, pricing, text). The same stack
runs each evaluation in one of three modes, interleaved run by run so machine load hits all alike:

- `off`: no provider installed (what a service without OTEL_EXPORTER_OTLP_ENDPOINT runs);
- `memory`: an SDK provider, SimpleSpanProcessor into an in-memory exporter (the spans' own cost);
- `otlp`: an SDK provider, BatchSpanProcessor and the OTLP/HTTP exporter posting to a stand-in
  collector on loopback (what production runs; export happens on the processor's thread).

Also: the cost of one span, no-op vs recording. Usage: `python bench/tracing.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e import SETUP, pr_files  # type: ignore[import-not-found]
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app.demo.stack import LocalStack
from app.runtime import telemetry
from app.sim.scenario import apply_setup

MODES = ("off", "memory", "otlp")


class Collector:
    """Accepts OTLP/HTTP exports on 127.0.0.1 and counts the bytes (it decodes nothing)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.bytes += len(body)
                outer.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def providers(collector: Collector) -> dict[str, tuple[TracerProvider | None, Callable[[], int]]]:
    memory = InMemorySpanExporter()
    in_memory = TracerProvider()
    in_memory.add_span_processor(SimpleSpanProcessor(memory))
    otlp = TracerProvider()
    otlp.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=collector.url)))
    return {
        "off": (None, lambda: 0),
        "memory": (in_memory, lambda: len(memory.get_finished_spans())),
        "otlp": (otlp, lambda: collector.requests),
    }


def span_cost(n: int = 20_000) -> dict[str, float]:
    """Microseconds per `telemetry.span()` with three attributes: no-op vs recording."""
    out: dict[str, float] = {}
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    attrs = {"github.repository": "acme/infra", "github.pr": 7, "agent.run_id": "run_1"}
    for mode in ("off", "memory"):
        restore = telemetry.install(provider) if mode == "memory" else (lambda: None)
        t0 = time.perf_counter()
        for _ in range(n):
            with telemetry.span("audit.append", attrs=attrs):
                pass
        out[mode] = (time.perf_counter() - t0) / n * 1e6
        restore()
        memory.clear()
    provider.shutdown()
    return out


def run(runs: int, n_files: int) -> dict[str, dict[str, float]]:
    wall: dict[str, list[float]] = {m: [] for m in MODES}
    cpu: dict[str, list[float]] = {m: [] for m in MODES}
    spans: dict[str, list[int]] = {m: [] for m in MODES}
    collector = Collector()
    modes = providers(collector)
    with tempfile.TemporaryDirectory() as tmp, LocalStack(f"sqlite:///{tmp}/t.db") as stack:
        apply_setup(stack.sim, SETUP)
        stack.sim.open_pr("acme/infra", "alice", "seed", pr_files(n_files, 0), title="s", body="")
        seed = stack.sim.pr("acme/infra#1")
        stack.wait_processed()
        stack.sim.merge(seed, by="alice", admin=True)
        stack.wait_processed()
        for r in range(runs * len(MODES) + 1):
            mode = MODES[r % len(MODES)]
            provider, count = modes[mode]
            restore = telemetry.install(provider) if provider is not None else (lambda: None)
            before = count()
            t0, c0 = time.perf_counter(), time.process_time()
            pr = stack.sim.open_pr(
                "acme/infra",
                "infra-bot[bot]",
                f"agent/change-{r}",
                pr_files(n_files, 1 + r % 2),
                title=f"Change {r}",
                body=f"Scale.\n\nAgent-Run-Id: run_bench_{r}\n"
                "Agent-Trace-Parent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )

            def done(pr: object = pr) -> bool:
                check = stack.sim.latest_check(pr)  # type: ignore[arg-type]
                return check is not None and check.status == "completed"

            stack.sim.wait_for(done, 120, "the check run")
            elapsed, cpu_s = time.perf_counter() - t0, time.process_time() - c0
            stack.wait_processed()
            if provider is not None:
                provider.force_flush()
            restore()
            if r == 0:
                continue  # warm-up: first token, parser and CEL caches
            wall[mode].append(elapsed)
            cpu[mode].append(cpu_s)
            spans[mode].append(count() - before)
    for provider, _ in modes.values():
        if provider is not None:
            provider.shutdown()
    collector.close()
    result = {
        m: {
            "wall_s": statistics.median(wall[m]),
            "cpu_s": statistics.median(cpu[m]),
            "per_run": statistics.median(spans[m]),
        }
        for m in MODES
    }
    result["collector"] = {"bytes": collector.bytes, "requests": collector.requests}
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7, help="evaluations per mode")
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    cost = span_cost()
    print(
        f"one span: no-op {cost['off']:.1f} µs, recording (SDK, in-memory) {cost['memory']:.1f} µs"
    )
    res = run(args.runs, args.files)
    print(
        f"{args.files}-file mixed PR, {args.runs} evaluations per mode, interleaved, after a warm-up"
    )
    off = res["off"]
    for mode in MODES:
        m = res[mode]
        extra = ""
        if mode == "memory":
            extra = f", {m['per_run']:.0f} spans per evaluation"
        elif mode == "otlp":
            extra = f", {m['per_run']:.0f} export requests per evaluation"
        print(
            f"  {mode:>6}: wall median {m['wall_s'] * 1000:.0f} ms "
            f"({m['wall_s'] / off['wall_s']:.2f}x off), CPU median {m['cpu_s'] * 1000:.0f} ms "
            f"({m['cpu_s'] / off['cpu_s']:.2f}x off){extra}"
        )
    col = res["collector"]
    print(f"  collector received {col['requests']:.0f} requests, {col['bytes'] / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
