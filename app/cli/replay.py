"""`countersign replay`: what proposed rules, policies, agents or repo config would have done to
the evaluations already stored (docs/tuning.md). Reads the audit store; writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import typer

from app.cli.settings import load_settings as _settings
from app.core.errors import CountersignError, UsageError


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UsageError(
            f"{option} {path}: {error.strerror}", hint="give a readable file"
        ) from None


def _named(file: str | None, rules: Path, policies: Path, agents: Path | None) -> str | None:
    from app.sources.proposed_gate import POLICIES_PREFIX, RULES_PREFIX, agents_file

    if file is None:
        return None
    if agents is not None and file in agents_file(b""):
        return str(agents)
    for prefix, folder in ((RULES_PREFIX, rules), (POLICIES_PREFIX, policies)):
        if file.startswith(prefix):
            return str(folder / file[len(prefix) :])
    return file


def replay_command(
    rules: Annotated[
        Path | None, typer.Option("--rules", help="Proposed risk rules folder.")
    ] = None,
    policies: Annotated[
        Path | None, typer.Option("--policies", help="Proposed Cedar policies folder.")
    ] = None,
    agents: Annotated[
        Path | None, typer.Option("--agents", help="Proposed agent registry (agents.yaml).")
    ] = None,
    repo_config: Annotated[
        Path | None,
        typer.Option(
            "--repo-config",
            help="Proposed .github/countersign.yml (without it: allowlist findings and "
            "approvers as recorded).",
        ),
    ] = None,
    since: Annotated[str | None, typer.Option(help="Recorded at or after (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Recorded before (ISO 8601).")] = None,
    repo: Annotated[str | None, typer.Option(help="Only this repository (owner/name).")] = None,
    merged: Annotated[
        bool, typer.Option("--merged", help="Every merged head, not the latest per PR.")
    ] = False,
    limit: Annotated[
        int, typer.Option(min=1, help="At most this many evaluations, newest first.")
    ] = 100_000,
    fmt: Annotated[
        Literal["table", "json", "markdown"], typer.Option("--format", help="Output format.")
    ] = "table",
) -> None:
    """Re-judge stored evaluations with the proposed files and print what would change."""
    from app.cli.audit import _engine, _when
    from app.config.repo import parse_repo_config
    from app.gate.replay import Proposal
    from app.gate.replay_report import run_replay, summarize, to_json, to_markdown, to_table
    from app.sources.proposed_gate import agents_file, load_proposed
    from app.store.audit.replay_source import Window, load

    settings = _settings()
    rules_dir, policies_dir = rules or settings.rules_dir, policies or settings.policies_dir
    files = agents_file(_read(agents, "--agents")) if agents is not None else {}
    try:
        gate = load_proposed(rules_dir, policies_dir, files)
    except CountersignError as error:  # name the user's own file
        error.file = _named(error.file, rules_dir, policies_dir, agents)
        raise
    config = None
    if repo_config is not None:
        config = parse_repo_config(_read(repo_config, "--repo-config"), str(repo_config))
    window = Window(
        since=_when(since, "--since"),
        until=_when(until, "--until"),
        repo=repo,
        merged=merged,
        limit=limit,
    )
    with _engine() as engine:
        loaded = load(engine, window, settings.web_url())
    results, _ = run_replay(loaded.stored, Proposal(gate=gate, config=config))
    cut = (f"only the newest {limit} evaluations were read (--limit)",) if loaded.cut else ()
    summary = summarize(results, cut=cut)
    if fmt == "json":
        typer.echo(json.dumps(to_json(summary), indent=2, sort_keys=True))
    elif fmt == "markdown":
        typer.echo(to_markdown(summary, title="Replay", limit=len(summary.changed)), nl=False)
    else:
        typer.echo(to_table(summary, limit=len(summary.changed)))
