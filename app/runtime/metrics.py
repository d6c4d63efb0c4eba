"""Prometheus metrics, one registry per app instance so tests and several apps never collide."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from app.agentops.scorecard import Scorecard

AGENT_WINDOW_DAYS = 30
"""The window of the `countersign_agent_*` gauges."""
AGENT_REFRESH_SECONDS = 60.0
"""At most one scorecard read per this many seconds, however often Prometheus scrapes."""
AGENT_GAUGES: tuple[tuple[str, str], ...] = (
    ("evaluated", "PRs evaluated"),
    ("merged", "PRs merged"),
    ("blocked", "PRs blocked by policy"),
    ("failed", "PRs whose last check failed"),
    ("bypassed", "merges that bypassed the check"),
    ("reverted", "merges reverted by a later merge"),
    ("analyze_calls", "POST /api/analyze calls"),
)


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
        self.unverified_reads = Gauge(
            "countersign_webhook_unverified_reads",
            "Webhook bodies being read now, before their signature is checked.",
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
        self.agent = {
            name: Gauge(
                f"countersign_agent_{name}",
                f"{what} per agent over the last {AGENT_WINDOW_DAYS} days (audit store).",
                ["agent"],
                registry=self.registry,
            )
            for name, what in AGENT_GAUGES
        }
        self.agent_run_id_coverage = Gauge(
            "countersign_agent_run_id_coverage_ratio",
            f"Share of an agent's merges with a run ID, last {AGENT_WINDOW_DAYS} days.",
            ["agent"],
            registry=self.registry,
        )
        self.agent_approval_p50 = Gauge(
            "countersign_agent_approval_latency_p50_seconds",
            f"Median approval latency of an agent's merges, last {AGENT_WINDOW_DAYS} days.",
            ["agent"],
            registry=self.registry,
        )
        self.agent_refreshed_at = 0.0

    def set_scorecards(self, cards: Iterable[Scorecard]) -> None:
        """Replace the per-agent gauges with these agent-level scorecards."""
        gauges = [*self.agent.values(), self.agent_run_id_coverage, self.agent_approval_p50]
        for gauge in gauges:
            gauge.clear()
        for card in cards:
            if card.rule_class is not None:
                continue
            for name, gauge in self.agent.items():
                gauge.labels(agent=card.agent_id).set(float(getattr(card, name) or 0))
            if card.run_id_coverage_pct is not None:
                ratio = card.run_id_coverage_pct / 100
                self.agent_run_id_coverage.labels(agent=card.agent_id).set(ratio)
            if card.approval_latency_p50_seconds is not None:
                p50 = card.approval_latency_p50_seconds
                self.agent_approval_p50.labels(agent=card.agent_id).set(p50)
