"""`countersign retention run`: purge the raw bodies of old, finished webhook deliveries."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.settings import load_settings as _settings

retention_app = typer.Typer(help="Retention: purge expired inbox bodies.", no_args_is_help=True)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List what would be purged; change nothing.")
    ] = False,
) -> None:
    """Clear the raw bodies of finished webhook deliveries older than the retention period."""
    from app.cli.audit import _engine
    from app.store.retention import cutoff_for, purge_all

    settings = _settings()
    days = settings.inbox_retention_days
    verb = "would purge" if dry_run else "purged"
    count = size = 0
    with _engine() as engine:
        for batch in purge_all(
            engine, retention_days=days, batch_size=settings.retention_batch_size, dry_run=dry_run
        ):
            for d in batch.deliveries:
                typer.echo(
                    f"{verb} {d.id} {d.event} {d.status} received {d.received_at.isoformat()} "
                    f"({d.bytes} bytes)"
                )
            count += len(batch.deliveries)
            size += batch.bytes
            if batch.audit_seq is not None:
                typer.echo(f"recorded retention_purge as audit event seq {batch.audit_seq}")
    cutoff = cutoff_for(days).isoformat(timespec="seconds")
    typer.echo(
        f"{verb} {count} delivery bodies ({size} bytes) finished before {cutoff} "
        f"(COUNTERSIGN_INBOX_RETENTION_DAYS={days:g})"
    )
