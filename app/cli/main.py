"""`countersign` command line. Heavy imports happen inside commands so `analyze` starts fast.

Exit codes: 0 success, 1 unexpected failure (message, no traceback unless --debug), 2 usage error.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from app.cli.console import stderr
from app.cli.settings import load_settings as _settings
from app.core.errors import CountersignError, UsageError

app = typer.Typer(
    name="countersign",
    help="A policy-enforced gate between AI agents and the systems they change.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _mount_groups() -> None:
    """Each command group lives in a module of its own; this is the one place that mounts them."""
    from app.cli.agents import agents_app
    from app.cli.aggregates import rebuild_aggregates_command
    from app.cli.audit import audit_app, db_app
    from app.cli.deployments import deployments_app
    from app.cli.mcp import mcp_command
    from app.cli.packs import policy_app, rules_app
    from app.cli.replay import replay_command
    from app.cli.retention import retention_app

    app.add_typer(rules_app, name="rules")
    app.add_typer(policy_app, name="policy")
    app.add_typer(retention_app, name="retention")
    app.add_typer(audit_app, name="audit")
    audit_app.command("rebuild-aggregates")(rebuild_aggregates_command)
    app.add_typer(db_app, name="db")
    app.add_typer(agents_app, name="agents")
    app.command("replay")(replay_command)
    app.command("mcp")(mcp_command)
    app.add_typer(deployments_app, name="deployments")


_mount_groups()

_state: dict[str, bool] = {"debug": False}


def _print_version(value: bool) -> None:
    if value:
        from app.cli.version import version_line

        typer.echo(version_line())
        raise typer.Exit(0)


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on failure.")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and the git revision it was built from.",
        ),
    ] = False,
) -> None:
    _state["debug"] = debug
    from app.runtime.stdlib_logs import route_stdlib_logging

    route_stdlib_logging()  # library log lines: scrubbed, on stderr; noisy parsers silent


@app.command()
def analyze(
    repo: Annotated[
        Path | None, typer.Option(help="A git repository to read both sides from.")
    ] = None,
    base: Annotated[str | None, typer.Option(help="Base revision (e.g. origin/main).")] = None,
    head: Annotated[str | None, typer.Option(help="Head revision (e.g. HEAD).")] = None,
    diff: Annotated[str | None, typer.Option(help="A unified diff file, or - for stdin.")] = None,
    author: Annotated[
        str | None, typer.Option(help="PR author login (e.g. infra-bot[bot]).")
    ] = None,
    repo_name: Annotated[str | None, typer.Option(help="owner/name for policy decisions.")] = None,
    fmt: Annotated[
        Literal["json", "markdown", "sarif"],
        typer.Option("--format", help="Output format (sarif: SARIF 2.1.0 for code scanning)."),
    ] = "json",
    rules_dir: Annotated[Path | None, typer.Option(help="Risk rules folder.")] = None,
    policies_dir: Annotated[Path | None, typer.Option(help="Cedar policies folder.")] = None,
    plan: Annotated[
        Path | None,
        typer.Option(help="A Terraform plan as JSON (`terraform show -json plan.out`)."),
    ] = None,
    plan_dir: Annotated[
        str, typer.Option(help="The module directory the plan is for (repository-relative).")
    ] = "",
    output: Annotated[
        list[str] | None,
        typer.Option(
            help="Also write the report as FORMAT=PATH (json, markdown or sarif), from the "
            "same evaluation; repeatable (e.g. --output sarif=countersign.sarif)."
        ),
    ] = None,
) -> None:
    """Pre-flight a change: semantic diff, risk, tier, policy and required approvals.

    With --plan, what Terraform will do (replacements, instance deletes, drift) is judged too,
    alone or together with --repo/--base/--head.
    """
    from app.cli.analyze import parse_output, run_analyze

    outputs = [parse_output(value) for value in output or ()]
    typer.echo(
        run_analyze(
            repo=repo,
            base=base,
            head=head,
            diff=diff,
            author=author,
            repo_name=repo_name,
            fmt=fmt,
            rules_dir=rules_dir,
            policies_dir=policies_dir,
            plan=plan,
            plan_dir=plan_dir,
            outputs=outputs,
        )
    )


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    role: Annotated[
        Literal["web", "worker", "all"],
        typer.Option(help="web: HTTP only; worker: inbox workers only; all: both."),
    ] = "all",
    workers: Annotated[int, typer.Option(min=1, max=64, help="Inbox worker threads.")] = 1,
    migrate: Annotated[
        bool,
        typer.Option(
            "--migrate",
            help="Apply pending migrations first, under a database lock (safe with N replicas).",
        ),
    ] = False,
) -> None:
    """Run the GitHub App (webhooks, API, inbox workers). SIGTERM stops it gracefully."""
    import uvicorn

    from app.service.app import build_runtime, close_runtime, create_app

    settings = _settings()
    settings.require_github()
    if migrate:
        from app.cli.serving import migrate_locked

        migrate_locked(settings.database_url)
    runtime = build_runtime(settings)  # fail here, with a clear message, not inside uvicorn
    if role == "worker":
        from app.cli.serving import serve_workers

        serve_workers(runtime, workers)
        return
    application = create_app(settings, role=role, workers=workers, runtime=runtime)
    try:
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level="warning",
            log_config=None,  # uvicorn's loggers reach the root handler (scrubbed, structlog)
            access_log=False,
            **settings.proxy_options(),  # forwarded headers only from trusted proxies
        )
    finally:
        close_runtime(runtime)


@app.command()
def demo(
    db: Annotated[Path, typer.Option(help="SQLite file for the demo's audit store.")] = Path(
        "countersign-demo.db"
    ),
    keep_serving: Annotated[
        bool,
        typer.Option(
            "--keep-serving",
            help="Stay up after the report (until Ctrl-C) and print the compliance console's URL "
            "with a local demo sign-in.",
        ),
    ] = False,
) -> None:
    """Run the App and a local GitHub on loopback and play agent PR scenarios end to end."""
    import logging

    from app.demo.run import run_demo

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    if not run_demo(db, keep_serving=keep_serving):
        raise typer.Exit(1)


@app.command()
def setup(
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Where GitHub reaches `countersign serve` (webhooks go to …/webhooks/github)."
        ),
    ] = None,
    org: Annotated[
        str | None, typer.Option(help="Register the App for this organization (else your account).")
    ] = None,
    name: Annotated[str | None, typer.Option(help="App name (default: app.yml's).")] = None,
    github_url: Annotated[
        str, typer.Option(help="GitHub web URL (GitHub Enterprise: https://HOST).")
    ] = "https://github.com",
    api_url: Annotated[
        str, typer.Option(help="GitHub API URL (GitHub Enterprise: https://HOST/api/v3).")
    ] = "https://api.github.com",
    manifest: Annotated[
        Path | None, typer.Option(help="App manifest YAML (default: the shipped app.yml).")
    ] = None,
    env_file: Annotated[Path, typer.Option(help="Where to write the settings.")] = Path(".env"),
    key_file: Annotated[Path, typer.Option(help="Where to write the private key.")] = Path(
        "countersign.private-key.pem"
    ),
    port: Annotated[int, typer.Option(help="Local port for the form (0: any free port).")] = 0,
    force: Annotated[bool, typer.Option(help="Overwrite an existing .env / key file.")] = False,
    browser: Annotated[bool, typer.Option(help="Open the form in a browser.")] = True,
    show_manifest: Annotated[
        bool, typer.Option("--print-manifest", help="Print the manifest JSON and stop.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for GitHub.")] = 600.0,
) -> None:
    """Register the GitHub App from app.yml (GitHub's manifest flow) and write its credentials."""
    from app.setup.command import app_yml_path, print_manifest, setup_app
    from app.setup.flow import SetupOptions
    from app.setup.manifest import load_app_yml

    path = app_yml_path(manifest)
    if show_manifest:
        typer.echo(print_manifest(path, public_url=public_url, name=name))
        return
    options = SetupOptions(
        app_yml=load_app_yml(path),
        env_path=env_file,
        key_path=key_file,
        github_url=github_url,
        api_url=api_url,
        org=org,
        public_url=public_url,
        name=name,
        port=port,
        force=force,
        timeout=timeout,
    )
    setup_app(options, open_browser=browser, say=typer.echo)


def _analyze_only() -> typer.Typer:
    """The same `analyze` command in a tree of its own. Typer reads the signature and evaluates
    the annotations of every command it mounts (about 50), a sixth of a pre-flight's start-up;
    `countersign analyze …`, run by agents on every change, needs only this one."""
    single = typer.Typer(name="countersign", add_completion=False, pretty_exceptions_enable=False)
    single.callback()(_main)
    single.command()(analyze)
    return single


def main() -> None:
    """Entry point: map typed errors to exit codes and clear messages."""
    debug = "--debug" in sys.argv
    analyzing = sys.argv[1:2] == ["analyze"]
    cli = _analyze_only() if analyzing else app
    try:
        if analyzing:  # here, not in the command: a process that runs it in-process keeps its GC
            from app.cli.analyze import import_gate_frozen

            import_gate_frozen()
        # standalone_mode=False returns (not raises) the code of a `typer.Exit(n)`.
        rc = cli(standalone_mode=False)
        if analyzing:
            # The report is out. Interpreter shutdown then runs full garbage collections over
            # the ~40,000 objects of the loaded modules, a fifth of the run's CPU; frozen objects
            # are not traversed (nothing waits on a finalizer: output is flushed, files closed).
            gc.freeze()
        if isinstance(rc, int) and rc:
            raise SystemExit(rc)
    except UsageError as exc:
        stderr().print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(2) from None
    except CountersignError as exc:
        if debug:
            raise
        stderr().print(f"[red]error:[/red] {exc}", highlight=False)
        raise SystemExit(1) from None
    except typer.Exit as exc:
        raise SystemExit(exc.exit_code) from None
    except typer.Abort:
        stderr().print("aborted")
        raise SystemExit(1) from None
    except Exception as exc:  # click usage errors and anything unexpected
        # Typer vendors click; match its exception types by name, whichever module they live in.
        names = {cls.__name__ for cls in type(exc).__mro__}
        if "UsageError" in names or "BadParameter" in names:
            exc.show()  # type: ignore[attr-defined]
            raise SystemExit(2) from None
        if "ClickException" in names:
            exc.show()  # type: ignore[attr-defined]
            raise SystemExit(getattr(exc, "exit_code", 1)) from None
        if debug:
            raise
        stderr().print(
            f"[red]unexpected error:[/red] {type(exc).__name__}: {exc} (rerun with --debug)"
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
