"""Signed export bundles: an in-toto Statement v1 about the JSONL export, in a DSSE envelope.

A bundle is a directory holding the export (`audit-export.jsonl`) and `audit-export.dsse.json`:
`{"payloadType": "application/vnd.in-toto+json", "payload": base64(statement), "signatures":
[{"keyid", "sig"}]}` where `sig` is Ed25519 over `PAE(payloadType, payload bytes)` (DSSE v1) and
`keyid` is the hex SHA-256 of the raw 32-byte public key. The statement's subject is the export
file (name and SHA-256); its predicate repeats the filter, count, first/last record and the chain
head so a verifier can tell a complete, unaltered export from a doctored one with only the public
key and the files, offline.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from app import __version__
from app.core.errors import AuditIntegrityError, CountersignError
from app.store.audit.chain import iso_utc
from app.store.audit.verify import verify_export

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://countersign.dev/audit-export/v1"
EXPORT_NAME = "audit-export.jsonl"
ENVELOPE_NAME = "audit-export.dsse.json"
KEY_VARIABLES = "COUNTERSIGN_SIGNING_KEY or COUNTERSIGN_SIGNING_KEY_PATH"


class SigningKeyError(CountersignError):
    """The signing or verification key is missing, unreadable, or not Ed25519."""


def pae(payload_type: str, body: bytes) -> bytes:
    """DSSE v1 Pre-Authentication Encoding: what is actually signed."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(body), body)


def key_id(public_key: Ed25519PublicKey) -> str:
    """Hex SHA-256 of the raw public key bytes (a hint for picking keys, never trusted)."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_signing_key(pem: str | None, path: Path | None) -> Ed25519PrivateKey:
    """The Ed25519 private key from the inline PEM, else the file; errors name the variable."""
    if pem:
        source, data = "COUNTERSIGN_SIGNING_KEY", pem.encode()
    elif path is not None:
        source = f"COUNTERSIGN_SIGNING_KEY_PATH ({path})"
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SigningKeyError(
                f"cannot read the signing key {source}: {error.strerror}"
            ) from None
    else:
        raise SigningKeyError(
            "no signing key: --signed needs an Ed25519 private key",
            hint=f"set {KEY_VARIABLES}; make one with `countersign audit keygen -o DIR`",
        )
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(
            f"{source} is not an unencrypted PEM private key ({error})",
            hint="expected `-----BEGIN PRIVATE KEY-----` (PKCS#8, Ed25519, no passphrase)",
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(
            f"{source} holds a {type(key).__name__.removeprefix('_')} key, not Ed25519",
            hint="make one with `countersign audit keygen -o DIR` "
            "or `openssl genpkey -algorithm ed25519`",
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (`-----BEGIN PUBLIC KEY-----`)."""
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as error:
        raise SigningKeyError(f"cannot read the public key {path}: {error.strerror}") from None
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{path} is not a PEM public key ({error})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"{path} is not an Ed25519 public key")
    return key


def write_key_pair(directory: Path) -> tuple[Path, Path]:
    """A fresh Ed25519 pair as PEM: `signing-key.pem` (mode 0600) and `signing-key.pub.pem`."""
    directory.mkdir(parents=True, exist_ok=True)
    private, public = directory / "signing-key.pem", directory / "signing-key.pub.pem"
    if private.exists():
        raise CountersignError(f"{private} exists; refusing to overwrite a signing key")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    private.touch(mode=0o600)
    private.write_bytes(pem)
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


@dataclass(frozen=True, slots=True)
class ExportSummary:
    """What the export file holds: its header filters, count and first/last (seq, hash)."""

    filters: dict[str, Any]
    count: int
    first: dict[str, Any] | None
    last: dict[str, Any] | None


def summarize_export(path: Path) -> ExportSummary:
    """Read a JSONL export's filters and its first and last record (streaming)."""
    filters: dict[str, Any] = {}
    count, first, last = 0, None, None
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            data = json.loads(line)
            if number == 1:
                filters = dict(data.get("_countersign_export", {}).get("filters") or {})
            elif "seq" in data and "hash" in data:
                count += 1
                last = {"seq": data["seq"], "hash": data["hash"]}
                first = first or last
    return ExportSummary(filters, count, first, last)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def statement(
    export: Path, head: tuple[int, str], *, now: datetime | None = None
) -> dict[str, Any]:
    """The in-toto Statement v1 about an export file written to `export`."""
    from app.store.audit.vsa import vsa_summary

    summary = summarize_export(export)
    vsa = vsa_summary(export.parent)
    value: dict[str, Any] = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": export.name, "digest": {"sha256": _sha256_file(export)}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "filter": summary.filters,
            "record_count": summary.count,
            "first": summary.first,
            "last": summary.last,
            "chain_head": {"seq": head[0], "hash": head[1]},
            "generator": {"name": "countersign", "version": __version__},
            "exported_at": iso_utc(now or datetime.now(UTC)),
        },
    }
    if vsa is not None:  # the per-merge SLSA VSAs written beside the export (app.store.audit.vsa)
        value["predicate"]["vsa"] = vsa
    return value


def sign_statement(value: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """A DSSE envelope around the statement, signed with `key`."""
    body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = key.sign(pae(PAYLOAD_TYPE, body))
    return {
        "payloadType": PAYLOAD_TYPE,
        "payload": base64.b64encode(body).decode("ascii"),
        "signatures": [
            {"keyid": key_id(key.public_key()), "sig": base64.b64encode(signature).decode()}
        ],
    }


def write_envelope(directory: Path, head: tuple[int, str], key: Ed25519PrivateKey) -> Path:
    """Sign the export in `directory` and write the envelope next to it."""
    envelope = sign_statement(statement(directory / EXPORT_NAME, head), key)
    path = directory / ENVELOPE_NAME
    path.write_text(json.dumps(envelope, indent=2) + "\n", encoding="utf-8")
    return path


# --- verification ---------------------------------------------------------------------------


def _b64(text: Any, what: str) -> bytes:
    """DSSE verifiers must accept standard and URL-safe base64."""
    if not isinstance(text, str):
        raise AuditIntegrityError(f"the envelope's {what} is not a base64 string")
    try:
        if "-" in text or "_" in text:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise AuditIntegrityError(f"the envelope's {what} is not valid base64") from None


def verify_envelope(envelope: dict[str, Any], public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The statement, if one signature verifies with `public_key` over the PAE; else raise."""
    if envelope.get("payloadType") != PAYLOAD_TYPE:
        raise AuditIntegrityError(
            f"payloadType is {envelope.get('payloadType')!r}, expected {PAYLOAD_TYPE!r}"
        )
    body = _b64(envelope.get("payload"), "payload")
    signatures = envelope.get("signatures")
    if not isinstance(signatures, list) or not signatures:
        raise AuditIntegrityError("the envelope has no signatures")
    message = pae(PAYLOAD_TYPE, body)
    for entry in signatures:
        if not isinstance(entry, dict):
            continue
        try:
            public_key.verify(_b64(entry.get("sig"), "signature"), message)
        except (InvalidSignature, AuditIntegrityError):
            continue
        break
    else:
        raise AuditIntegrityError(
            "BAD SIGNATURE: no signature in the envelope verifies with this public key "
            f"(keyid {key_id(public_key)}); the statement or signature was altered, "
            "or it was signed with another key"
        )
    try:
        value = json.loads(body)
    except ValueError:
        raise AuditIntegrityError("the signed payload is not JSON") from None
    if not isinstance(value, dict):
        raise AuditIntegrityError("the signed payload is not a JSON object")
    return value


def verify_bundle(directory: Path, public_key: Ed25519PublicKey) -> int:
    """Check signature, subject digest, predicate and chain; the record count, or raise.

    AuditIntegrityError says what failed first (and the first bad seq for chain damage).
    """
    envelope_path = directory / ENVELOPE_NAME
    try:
        envelope = json.loads(envelope_path.read_text(encoding="utf-8"))
    except OSError as error:
        raise AuditIntegrityError(f"cannot read {envelope_path}: {error.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise AuditIntegrityError(f"{envelope_path} is not a JSON envelope") from None
    if not isinstance(envelope, dict):
        raise AuditIntegrityError(f"{envelope_path} is not a JSON envelope")
    value = verify_envelope(envelope, public_key)
    if value.get("_type") != STATEMENT_TYPE or value.get("predicateType") != PREDICATE_TYPE:
        raise AuditIntegrityError("the signed payload is not a Countersign export statement")
    subjects = value.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise AuditIntegrityError("the statement must name exactly one subject")
    name = subjects[0].get("name")
    if not isinstance(name, str) or Path(name).name != name or name in ("", ".", ".."):
        raise AuditIntegrityError(f"the subject name {name!r} is not a plain file name")
    export = directory / name
    if not export.is_file():
        raise AuditIntegrityError(f"the export file {export} named by the statement is missing")
    expected = (subjects[0].get("digest") or {}).get("sha256")
    actual = _sha256_file(export)
    if actual != expected:
        raise AuditIntegrityError(
            f"DIGEST MISMATCH: {export} has sha256 {actual}, the signed statement says {expected}"
        )
    result = verify_export(export)
    if not result.ok:
        seq = result.first_bad_seq if result.first_bad_seq is not None else "unknown"
        raise AuditIntegrityError(
            f"TAMPERED: first bad seq {seq}: {result.reason} ({export})", seq=result.first_bad_seq
        )
    _check_predicate(value.get("predicate"), summarize_export(export))
    from app.store.audit.vsa import VSA_NAME, verify_vsas

    claim = value["predicate"].get("vsa")
    if claim is not None:
        verify_vsas(directory, export, claim, public_key)
    elif (directory / VSA_NAME).exists():  # never report VSAs the signed statement does not cover
        raise AuditIntegrityError(f"{directory / VSA_NAME} is not covered by the signed statement")
    return result.count


def _check_predicate(predicate: Any, summary: ExportSummary) -> None:
    if not isinstance(predicate, dict):
        raise AuditIntegrityError("the statement has no predicate")
    claims = {
        "record_count": summary.count,
        "first": summary.first,
        "last": summary.last,
        "filter": summary.filters,
    }
    for field, actual in claims.items():
        if predicate.get(field) != actual:
            raise AuditIntegrityError(
                f"the statement's {field} {predicate.get(field)!r} does not match the export "
                f"({actual!r})"
            )
    head = predicate.get("chain_head")
    last_seq = summary.last["seq"] if summary.last else 0
    if not isinstance(head, dict) or not isinstance(head.get("seq"), int) or head["seq"] < last_seq:
        raise AuditIntegrityError("the statement's chain_head is missing or before the last record")
