"""`countersign audit rebuild-aggregates`: recompute the scorecard aggregates from the chain
(mounted on the audit group by app/cli/main.py).

The aggregates are kept with every append; this is for a store written by something else (a
bulk loader, a restore from a dump of the events alone) or to show they match the chain.
Idempotent: it rewrites the tables under the chain lock, so running it twice writes the same rows.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer


def rebuild_aggregates_command(
    fmt: Annotated[
        Literal["text", "json"], typer.Option("--format", help="Output format.")
    ] = "text",
) -> None:
    """Recompute the scorecard aggregates (agent × rule class × day) from the audit chain and
    report the rows written."""
    from app.cli.audit import _engine
    from app.store.audit.aggregates import rebuild_aggregates

    with _engine() as engine:
        rebuilt = rebuild_aggregates(engine)
    if fmt == "json":
        typer.echo(json.dumps({"events": rebuilt.events, "rows": rebuilt.rows}, sort_keys=True))
        return
    rows = ", ".join(f"{table} {n}" for table, n in rebuilt.rows.items())
    typer.echo(f"rebuilt the scorecard aggregates from {rebuilt.events} events: {rows} rows")
