"""`countersign agents report`: every agent's scorecard from the audit store (mounted by app/cli/main.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from app.core.errors import UsageError

if TYPE_CHECKING:
    from rich.table import Table

    from app.agentops.scorecard import Scorecard

agents_app = typer.Typer(help="Agents: scorecards from the audited record.", no_args_is_help=True)
DEFAULT_DAYS = 30


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def _table(cards: list[Scorecard], since: datetime, until: datetime) -> Table:
    from rich.table import Table

    table = Table(
        title=f"Agent scorecards {since:%Y-%m-%d %H:%M} → {until:%Y-%m-%d %H:%M} UTC",
        title_justify="left",
    )
    for name in (
        "agent",
        "rule class",
        "evaluated",
        "merged",
        "blocked",
        "failed",
        "bypassed",
        "reverted",
        "approval p50",
        "approval p90",
        "run-ID",
        "$/merge",
        "analyze calls",
        "waivers",
    ):
        table.add_column(name, justify="left" if name in ("agent", "rule class") else "right")
    for c in cards:
        table.add_row(
            c.agent_id if c.rule_class is None else "",
            c.rule_class or "(all)",
            str(c.evaluated),
            str(c.merged),
            str(c.blocked),
            str(c.failed),
            str(c.bypassed),
            f"{c.reverted} ({c.reverted_pct:g}%)" if c.reverted else "0",
            _duration(c.approval_latency_p50_seconds),
            _duration(c.approval_latency_p90_seconds),
            _pct(c.run_id_coverage_pct),
            "—" if c.cost_per_merge_usd is None else f"{c.cost_per_merge_usd:.4g}",
            "" if c.analyze_calls is None else str(c.analyze_calls),
            _waived(c.waivers_by_rule),
        )
    return table


def _waived(by_rule: dict[str, int]) -> str:
    """`3 (pricing.large-change 2, …)`: the most waived rules first (a rule to fix)."""
    if not by_rule:
        return "0"
    ranked = sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))
    return f"{sum(by_rule.values())} (" + ", ".join(f"{r} {n}" for r, n in ranked[:3]) + ")"


@agents_app.command("report")
def report_command(
    since: Annotated[
        str | None, typer.Option(help=f"Window start (ISO 8601; default {DEFAULT_DAYS} days ago).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Window end, exclusive (default now).")] = None,
    agent: Annotated[str | None, typer.Option(help="One agent id only.")] = None,
    fmt: Annotated[
        Literal["table", "json"], typer.Option("--format", help="Output format.")
    ] = "table",
) -> None:
    """Per agent and per agent × rule class: PRs evaluated, merged, blocked, failed, bypassed,
    reverted, approval latency, run-ID coverage, cost per merge, pre-flight API calls."""
    from app.agentops.scorecard import Window
    from app.cli.audit import _engine, _when
    from app.store.audit.agent_events import agent_scorecards

    end = _when(until, "--until") or datetime.now(UTC)
    start = _when(since, "--since") or end - timedelta(days=DEFAULT_DAYS)
    if start >= end:
        raise UsageError(f"--since {start.isoformat()} is not before --until {end.isoformat()}")
    with _engine() as engine:
        cards = agent_scorecards(engine, Window(start, end), agent_id=agent)
    if fmt == "json":
        typer.echo(
            json.dumps(
                {
                    "since": start.isoformat(),
                    "until": end.isoformat(),
                    "scorecards": [c.model_dump(mode="json") for c in cards],
                },
                indent=2,
            )
        )
        return
    from rich.console import Console

    out = Console(width=200)
    if not cards:
        out.print(f"No agent activity between {start.isoformat()} and {end.isoformat()}.")
        return
    out.print(_table(cards, start, end))
