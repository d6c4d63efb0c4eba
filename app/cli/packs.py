"""`countersign rules test` and `countersign policy check|who-can`: the rule and policy packs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app.cli.console import stderr
from app.cli.settings import load_settings as _settings
from app.core.errors import UsageError

rules_app = typer.Typer(help="Risk rules: test the shipped examples.", no_args_is_help=True)
policy_app = typer.Typer(
    help="Cedar policies: validate, and ask who may do what.", no_args_is_help=True
)


@rules_app.command("test")
def rules_test(
    rules_dir: Annotated[Path | None, typer.Option(help="Risk rules folder.")] = None,
) -> None:
    """Run every rule's `examples` (must match / must not match)."""
    from app.risk import load_rule_pack, run_examples

    pack = load_rule_pack(rules_dir or _settings().rules_dir)
    results = run_examples(pack)
    failed = [r for r in results if not r.ok]
    for r in failed:
        stderr().print(
            f"[red]FAIL[/red] {r.rule} example {r.index}: expected {r.expected}, got {r.actual}"
        )
    typer.echo(
        f"{len(pack.rules)} rules, {len(results)} examples: {len(results) - len(failed)} passed, {len(failed)} failed"
    )
    if failed:
        raise typer.Exit(1)


@policy_app.command("check")
def policy_check(
    policies_dir: Annotated[Path | None, typer.Option(help="Cedar policies folder.")] = None,
) -> None:
    """Validate policies against the schema and the agent registry."""
    from app.policy import PolicyEngine

    engine = PolicyEngine.load(policies_dir or _settings().policies_dir)
    problems = engine.check()
    for problem in problems:
        stderr().print(f"[red]problem:[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    typer.echo(f"policies OK (version {engine.version[:12]})")


@policy_app.command("who-can")
def policy_who_can(
    action: Annotated[str, typer.Argument(help="propose or approve")],
    kind: Annotated[str | None, typer.Option(help="Change kind, e.g. terraform.")] = None,
    op: Annotated[str | None, typer.Option(help="create, update, delete or rename.")] = None,
    env: Annotated[str | None, typer.Option(help="Environment, e.g. production.")] = None,
    repo: Annotated[str | None, typer.Option(help="owner/name.")] = None,
    policies_dir: Annotated[Path | None, typer.Option(help="Cedar policies folder.")] = None,
) -> None:
    """Which agents may do this, and which policies grant it."""
    from app.policy import PolicyEngine

    if action not in ("propose", "approve"):
        raise UsageError("ACTION must be 'propose' or 'approve'")
    engine = PolicyEngine.load(policies_dir or _settings().policies_dir)
    rows = engine.who_can(action=action, kind=kind, op=op, env=env, repo=repo)
    if not rows:
        typer.echo("nobody")
    for row in rows:
        typer.echo(str(row))
