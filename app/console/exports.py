"""Console downloads: the merge export (CSV, JSONL) and a signed bundle for the current filter,
plus one change's evidence packet as JSON or printable HTML.

All of them reuse the CLI's functions (app.store.audit.export, app.store.audit.signing, app.store.audit.evidence)
and stream. A signed bundle is a zip of the files `countersign audit export --signed` writes
(`audit-export.jsonl`, `audit-vsa.intoto.jsonl`, `audit-export.dsse.json`): unzip it and run `countersign audit verify
--bundle DIR --public-key FILE`. Without a signing key the bundle answers 503 (never unsigned).
"""

from __future__ import annotations

import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from app.console.auth import SignedIn
from app.console.pages import TIERS, Number, Owner, engine_of, parse_filter
from app.console.views import render
from app.core.errors import UsageError
from app.runtime.context import Runtime

if TYPE_CHECKING:
    from app.store.audit.evidence import EvidencePacket

router = APIRouter(prefix="/console", include_in_schema=False)
CHUNK = 1 << 16
BUNDLE_PREFIX = "countersign-bundle-"
PRINTABLE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


@router.get("/export")
def export_page(request: Request, _session: SignedIn) -> Response:
    _flt, raw = parse_filter(request)
    runtime: Runtime = request.app.state.runtime
    settings = runtime.settings
    return render(
        request,
        "export.html.j2",
        page="export",
        filters=raw,
        tiers=TIERS,
        can_sign=bool(settings.signing_key or settings.signing_key_path),
    )


@router.get("/export/merges.{fmt}")
def export_file(request: Request, fmt: str, _session: SignedIn) -> StreamingResponse:
    """The merge export for the filter in the query string, streamed."""
    from app.store.audit.export import export_merges

    if fmt not in ("jsonl", "csv"):
        raise HTTPException(404, "export formats are merges.jsonl and merges.csv")
    flt, _raw = parse_filter(request)
    lines = export_merges(
        engine_of(request),
        flt.since,
        flt.until,
        flt.repo,
        flt.agent,
        "jsonl" if fmt == "jsonl" else "csv",
        run_id=flt.run_id,
        tier=flt.tier,
        bypass=flt.bypass,
    )
    media = "application/x-ndjson" if fmt == "jsonl" else "text/csv"
    name = f"countersign-merges-{_stamp()}.{fmt}"
    return StreamingResponse(
        lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _signing_key(runtime: Runtime) -> object:
    from app.store.audit.signing import SigningKeyError, load_signing_key

    settings = runtime.settings
    pem = settings.signing_key.get_secret_value() if settings.signing_key else None
    try:
        return load_signing_key(pem, settings.signing_key_path)
    except SigningKeyError as error:
        raise HTTPException(503, f"signed exports are not configured: {error}") from error


@router.get("/export/bundle.zip")
def export_bundle(request: Request, _session: SignedIn) -> StreamingResponse:
    """A signed bundle (JSONL + DSSE envelope) for the filter, zipped and streamed."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.store.audit.export import export_merges
    from app.store.audit.signing import ENVELOPE_NAME, EXPORT_NAME, write_envelope
    from app.store.audit.store import chain_head
    from app.store.audit.vsa import VSA_NAME, write_vsas

    runtime: Runtime = request.app.state.runtime
    key = _signing_key(runtime)
    assert isinstance(key, Ed25519PrivateKey)
    flt, _raw = parse_filter(request)
    engine = engine_of(request)
    folder = Path(tempfile.mkdtemp(prefix=BUNDLE_PREFIX))
    try:
        lines = export_merges(
            engine,
            flt.since,
            flt.until,
            flt.repo,
            flt.agent,
            "jsonl",
            run_id=flt.run_id,
            tier=flt.tier,
            bypass=flt.bypass,
        )
        with closing(lines), (folder / EXPORT_NAME).open("w", encoding="utf-8") as handle:
            handle.writelines(lines)
        write_vsas(folder, EXPORT_NAME, engine, key)
        # The head is read after the export, as the CLI does: it is never before the last record.
        write_envelope(folder, chain_head(engine), key)
        archive = folder / "bundle.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            for member in (EXPORT_NAME, VSA_NAME, ENVELOPE_NAME):
                bundle.write(folder / member, member)
        # Open, then unlink: the folder is gone before the first byte is sent, so a client that
        # goes away mid-download leaves nothing on disk (the data is freed with the handle).
        stream = archive.open("rb")
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def chunks() -> Iterator[bytes]:
        with stream:
            while block := stream.read(CHUNK):
                yield block

    name = f"countersign-bundle-{_stamp()}.zip"
    return StreamingResponse(
        chunks(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
        background=BackgroundTask(stream.close),  # also when the client went away
    )


def sweep_bundle_leftovers(min_age_seconds: float = 0.0) -> int:
    """Remove bundle folders a killed process left in the temp directory (start-up); how many.

    Folders younger than `min_age_seconds` are kept: another web process may be building one."""
    removed = 0
    now = time.time()
    for folder in Path(tempfile.gettempdir()).glob(BUNDLE_PREFIX + "*"):
        try:
            if not folder.is_dir() or now - folder.stat().st_mtime < min_age_seconds:
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


@router.get("/export/public-key.pem")
def public_key(request: Request, _session: SignedIn) -> PlainTextResponse:
    """The public half of the signing key, to verify bundles offline."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = _signing_key(request.app.state.runtime)
    assert isinstance(key, Ed25519PrivateKey)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return PlainTextResponse(
        pem.decode(),
        media_type="application/x-pem-file",
        headers={"Content-Disposition": 'attachment; filename="countersign-signing-key.pub.pem"'},
    )


@router.get("/evidence/{owner}/{name}/{number}.{fmt}")
def evidence_file(
    request: Request, owner: Owner, name: Owner, number: Number, fmt: str, _session: SignedIn
) -> Response:
    """The evidence packet as JSON, the printable page `countersign audit evidence` writes, or
    (`.vsa`) the merge's signed SLSA source VSA, a DSSE envelope."""
    from app.store.audit.evidence import build_packet, render_html, render_json

    if fmt not in ("json", "html", "vsa"):
        raise HTTPException(404, "evidence formats are .json, .html and .vsa")
    try:
        packet = build_packet(engine_of(request), f"{owner}/{name}", number)
    except UsageError as error:
        raise HTTPException(404, str(error)) from error
    if fmt == "vsa":
        return _vsa_response(request, packet, f"{owner}-{name}-{number}")
    if fmt == "json":
        return Response(
            render_json(packet),
            media_type="application/json",
            headers={
                "Content-Disposition": f'attachment; filename="evidence-{owner}-{name}-{number}.json"'
            },
        )
    # The printable page carries its own stricter CSP (no scripts at all, its inline styles).
    return Response(
        render_html(packet),
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": PRINTABLE_CSP},
    )


def _vsa_response(request: Request, packet: EvidencePacket, stem: str) -> Response:
    """The signed VSA (503 without a signing key, never unsigned; 404 without a merge commit)."""
    import json

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from app.store.audit.vsa import signed_vsa

    key = _signing_key(request.app.state.runtime)
    assert isinstance(key, Ed25519PrivateKey)
    try:
        envelope = signed_vsa(packet, key)
    except ValueError as error:
        raise HTTPException(404, str(error)) from error
    return Response(
        json.dumps(envelope, indent=2) + "\n",
        media_type="application/vnd.dsse.envelope.v1+json",
        headers={"Content-Disposition": f'attachment; filename="vsa-{stem}.dsse.json"'},
    )
