"""`countersign audit export|verify` and `countersign db upgrade` (mounted by app/cli/main.py).

Exit codes: 0 ok, 1 tampering found (AuditIntegrityError names the first bad seq) or the database
is not ready (DatabaseNotReady); app.cli.main prints those errors.
Progress goes to stderr so stdout can be piped.
"""

from __future__ import annotations

import sys
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Protocol

import typer

from app.cli.console import stderr
from app.core.errors import AuditIntegrityError, DatabaseNotReady, UsageError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from sqlalchemy import Engine

    from app.store.audit.evidence import EvidencePacket
    from app.store.audit.verify import VerifyResult


class _Report(Protocol):
    def __call__(self, done: int, total: int | None = None) -> None: ...


audit_app = typer.Typer(
    help="Audit trail: export merge records, verify the hash chain.", no_args_is_help=True
)
db_app = typer.Typer(help="Database: apply migrations.", no_args_is_help=True)


@contextmanager
def _engine() -> Iterator[Engine]:
    from app.config.settings import Settings
    from app.store.db import ensure_migrated, make_engine

    engine = make_engine(Settings().database_url)
    try:
        ensure_migrated(engine)
        yield engine
    finally:
        engine.dispose()


def _when(value: str | None, option: str) -> datetime | None:
    from app.core.moments import parse_moment

    return None if value is None else parse_moment(value, option)


@contextmanager
def _progress(label: str, total: int | None) -> Iterator[_Report]:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    err = stderr()
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(label, total=total)

        def report(done: int, total: int | None = None) -> None:
            if total is not None:
                bar.update(task, total=total)
            bar.update(task, completed=done)

        yield report


@audit_app.command("export")
def export_command(
    since: Annotated[
        str | None, typer.Option(help="Merges recorded at or after (ISO 8601).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Merges recorded before (ISO 8601).")] = None,
    repo: Annotated[str | None, typer.Option(help="Only this repository (owner/name).")] = None,
    agent: Annotated[str | None, typer.Option(help="Only this agent id.")] = None,
    fmt: Annotated[
        Literal["jsonl", "csv", "oscal-ar"],
        typer.Option(
            "--format", help="Output format (oscal-ar: an OSCAL 1.1.2 Assessment Results document)."
        ),
    ] = "jsonl",
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", help="File to write (default stdout); with --signed, a directory."
        ),
    ] = None,
    signed: Annotated[
        bool,
        typer.Option(
            "--signed",
            help="Write a signed bundle to the -o directory: the JSONL export, a signed SLSA "
            "source VSA per merge and a DSSE envelope (in-toto statement) signed with "
            "COUNTERSIGN_SIGNING_KEY[_PATH].",
        ),
    ] = False,
) -> None:
    """Stream one record per merge, verifiable offline with `countersign audit verify --file`."""
    from app.store.audit.export import count_merges, export_merges

    start, end = _when(since, "--since"), _when(until, "--until")
    if fmt == "oscal-ar":
        _export_oscal(start, end, repo, agent, output, signed=signed)
        return
    key = None
    if signed:
        from app.store.audit.signing import EXPORT_NAME

        if fmt != "jsonl":
            raise UsageError("--signed writes JSONL only", hint="drop --format csv")
        if output is None:
            raise UsageError("--signed needs -o DIR (the bundle directory)")
        key = _signing_key()
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise UsageError(f"cannot create {output}: {error.strerror}") from error
        bundle, output = output, output / EXPORT_NAME
    with _engine() as engine, _progress("exporting", None) as report:
        report(0, count_merges(engine, since=start, until=end, repo=repo, agent=agent))
        written: list[int] = []

        def progress(done: int) -> None:
            written[:] = [done]
            report(done)

        with closing(
            export_merges(engine, start, end, repo, agent, fmt, progress=progress)
        ) as lines:
            if output is None:
                for line in lines:
                    sys.stdout.write(line)
            else:
                try:
                    with output.open("w", encoding="utf-8", newline="") as handle:
                        handle.writelines(lines)
                except OSError as error:
                    raise UsageError(f"cannot write {output}: {error.strerror}") from error
        if key is not None:
            from app.store.audit.signing import write_envelope
            from app.store.audit.store import chain_head
            from app.store.audit.vsa import write_vsas

            vsas = write_vsas(bundle, EXPORT_NAME, engine, key)
            stderr().print(f"SLSA source VSAs: {vsas}", highlight=False)
            envelope = write_envelope(bundle, chain_head(engine), key)
            stderr().print(f"signed: {envelope}", highlight=False)
    stderr().print(f"exported {written[0] if written else 0} merge record(s)", highlight=False)


def _export_oscal(
    start: datetime | None,
    end: datetime | None,
    repo: str | None,
    agent: str | None,
    output: Path | None,
    *,
    signed: bool,
) -> None:
    from app.store.audit.oscal import assessment_results, render_oscal

    if signed:
        raise UsageError("--signed writes JSONL only", hint="drop --format oscal-ar")
    with _engine() as engine:
        document = assessment_results(engine, start, end, repo, agent)
    _write(render_oscal(document), output)
    results = document["assessment-results"]["results"][0]
    stderr().print(
        f"OSCAL assessment results: {len(results.get('observations', []))} merge(s), "
        f"{len(results.get('findings', []))} finding(s)",
        highlight=False,
    )


@audit_app.command("verify")
def verify_command(
    file: Annotated[
        Path | None, typer.Option("--file", help="Verify an exported file instead of the database.")
    ] = None,
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Verify a signed bundle directory (needs --public-key)."),
    ] = None,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key", help="The Ed25519 public key (PEM) the bundle must verify with."
        ),
    ] = None,
) -> None:
    """Recompute the hash chain; exit 1 and name the first bad seq on tampering."""
    from app.store.audit.verify import verify_chain, verify_export

    result: VerifyResult
    if bundle is not None:
        from app.store.audit.signing import load_public_key, verify_bundle

        if public_key is None:
            raise UsageError("--bundle needs --public-key FILE (the signer's Ed25519 public key)")
        if not bundle.is_dir():
            raise UsageError(f"no such bundle directory: {bundle}")
        count = verify_bundle(bundle, load_public_key(public_key))
        from app.store.audit.vsa import vsa_summary

        vsas = vsa_summary(bundle)
        also = f", and {vsas['count']} SLSA VSA(s)" if vsas else ""
        typer.echo(f"ok: signature, digest and {count} record(s) verified{also} ({bundle})")
        return
    if file is not None:
        if not file.is_file():
            raise UsageError(f"no such file: {file}")
        with _progress("verifying", None) as report:
            result = verify_export(file, progress=report)
        where = str(file)
    else:
        from app.store.audit.stream import count_events

        with _engine() as engine, _progress("verifying", None) as report:
            report(0, count_events(engine))
            result = verify_chain(engine, progress=report)
        where = "database"
    if result.ok:
        typer.echo(f"ok: {result.count} record(s) verified ({where})")
        return
    seq = result.first_bad_seq if result.first_bad_seq is not None else "unknown"
    # An exception, not typer.Exit: app.cli.main runs click with standalone_mode=False, where an Exit's
    # code is returned rather than used; CountersignError always maps to exit 1.
    raise AuditIntegrityError(
        f"TAMPERED: first bad seq {seq}: {result.reason} ({where})", seq=result.first_bad_seq
    )


@audit_app.command("evidence")
def evidence_command(
    change: Annotated[str, typer.Argument(help="The change, OWNER/REPO#N.")],
    fmt: Annotated[
        Literal["json", "html", "vsa"],
        typer.Option(
            "--format",
            help="JSON, a printable HTML page, or vsa: the merge's SLSA source VSA as a DSSE "
            "envelope signed with COUNTERSIGN_SIGNING_KEY[_PATH].",
        ),
    ] = "json",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")
    ] = None,
) -> None:
    """One merged change's evidence: who asked, what changed, who approved when, SoD, checks."""
    from app.store.audit.evidence import build_packet, parse_change, render_html, render_json

    repo, number = parse_change(change)
    key = _signing_key() if fmt == "vsa" else None
    with _engine() as engine:
        packet = build_packet(engine, repo, number)
    if key is not None:
        _write(_vsa_text(packet, key), output)
        return
    text = render_html(packet) if fmt == "html" else render_json(packet)
    _write(text, output)


def _signing_key() -> Ed25519PrivateKey:
    from app.config.settings import Settings
    from app.store.audit.signing import load_signing_key

    settings = Settings()
    pem = settings.signing_key.get_secret_value() if settings.signing_key else None
    return load_signing_key(pem, settings.signing_key_path)


def _vsa_text(packet: EvidencePacket, key: Ed25519PrivateKey) -> str:
    import json

    from app.store.audit.vsa import signed_vsa

    try:
        envelope = signed_vsa(packet, key)
    except ValueError as error:
        raise UsageError(
            str(error), hint="a VSA names the merge commit; none is recorded"
        ) from None
    return json.dumps(envelope, indent=2) + "\n"


@audit_app.command("sample")
def sample_command(
    seed: Annotated[
        str, typer.Option(help="Any text; the same seed over the same records, the same sample.")
    ],
    size: Annotated[int, typer.Option(help="How many merge records to draw.")] = 25,
    since: Annotated[
        str | None, typer.Option(help="Merges recorded at or after (ISO 8601).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Merges recorded before (ISO 8601).")] = None,
    stratify: Annotated[
        str | None,
        typer.Option(help="Comma-separated merge fields to stratify by, e.g. tier,bypass."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="File to write (default stdout).")
    ] = None,
) -> None:
    """A reproducible sample of merge records (JSONL, verifiable with `verify --file`)."""
    from app.store.audit.sample import draw_sample, parse_stratify

    fields = parse_stratify(stratify)
    start, end = _when(since, "--since"), _when(until, "--until")
    with _engine() as engine:
        text = "".join(
            draw_sample(engine, seed=seed, size=size, since=start, until=end, stratify=fields)
        )
    _write(text, output)


def _write(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {output}: {error.strerror}") from error


@audit_app.command("keygen")
def keygen_command(
    output: Annotated[Path, typer.Option("-o", "--output", help="Directory for the key pair.")],
) -> None:
    """Make an Ed25519 key pair for signed exports (private key mode 0600, public key PEM)."""
    from app.store.audit.signing import write_key_pair

    private, public = write_key_pair(output)
    typer.echo(f"private key: {private} (set COUNTERSIGN_SIGNING_KEY_PATH to it)")
    typer.echo(f"public key:  {public} (give it to auditors for `audit verify --bundle`)")


@db_app.command("upgrade")
def upgrade_command(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply migrations to COUNTERSIGN_DATABASE_URL (idempotent; safe to run from N replicas)."""
    from app.config.settings import Settings
    from app.store.db import safe_url
    from app.store.migrate_lock import upgrade_locked

    url = Settings().database_url
    status = upgrade_locked(url, revision).after
    typer.echo(f"{safe_url(url)} is at migration {status.current} (head {status.head})")


@db_app.command("status")
def status_command() -> None:
    """Show the applied and expected migration; exit 1 when an upgrade is needed."""
    from app.config.settings import Settings
    from app.store.db import UPGRADE_COMMAND, make_engine, migration_status, safe_url

    url = Settings().database_url
    engine = make_engine(url)
    try:
        status = migration_status(engine)
    finally:
        engine.dispose()
    typer.echo(f"{safe_url(url)}: at {status.current or '<none>'}, head {status.head}")
    if not status.up_to_date:
        raise DatabaseNotReady("the database needs migrating", hint=f"run `{UPGRADE_COMMAND}`")
