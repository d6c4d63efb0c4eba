"""Prometheus metrics, one registry per app instance so tests and several apps never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.deliveries = Counter(
            "countersign_deliveries_total",
            "Webhook deliveries by event and outcome (accepted, duplicate, ignored, rejected).",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.processed = Counter(
            "countersign_deliveries_processed_total",
            "Inbox deliveries processed by outcome (done, retry, failed, dropped).",
            ["event", "outcome"],
            registry=self.registry,
        )
        self.evaluation_seconds = Histogram(
            "countersign_evaluation_seconds",
            "Time from claim to check-run update for one PR evaluation.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=self.registry,
        )
        self.api_calls = Counter(
            "countersign_github_api_calls_total",
            "GitHub API calls made.",
            ["outcome"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "countersign_inbox_queue_depth",
            "Deliveries waiting in the inbox (pending or processing).",
            registry=self.registry,
        )
        self.conclusions = Counter(
            "countersign_check_conclusions_total",
            "Check-run conclusions posted.",
            ["conclusion"],
            registry=self.registry,
        )
        self.analyze_calls = Counter(
            "countersign_analyze_requests_total",
            "POST /api/analyze calls by agent (`-` when no valid token) and outcome.",
            ["agent", "outcome"],
            registry=self.registry,
        )
