"""`countersign deployments`: the deployment decisions of the audit chain (docs/deployments.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from app.core.errors import UsageError

deployments_app = typer.Typer(
    help="Deployments: export the deployment protection rule's decisions.", no_args_is_help=True
)


@deployments_app.command("export")
def export_command(
    repo: Annotated[str | None, typer.Option("--repo", help="Only OWNER/REPO.")] = None,
    environment: Annotated[
        str | None, typer.Option("--environment", help="Only this environment.")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")
    ] = None,
) -> None:
    """Every `deployment_decision` as JSONL, oldest first, with its chain seq and hashes."""
    from app.cli.audit import _engine
    from app.store.audit.deployments import export_lines

    with _engine() as engine:
        lines = export_lines(engine, repo=repo, environment=environment)
        if output is None:
            for line in lines:
                sys.stdout.write(line)
            return
        try:
            with output.open("w", encoding="utf-8") as handle:
                handle.writelines(lines)
        except OSError as error:
            raise UsageError(f"cannot write {output}: {error.strerror}") from error
