"""Signed export bundles: DSSE PAE, signing, and offline verification that fails on any change."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
import typer
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from typer.testing import CliRunner

from app.cli.audit import audit_app
from app.core.errors import AuditIntegrityError
from app.store.audit.records import MergeRecord
from app.store.audit.signing import (
    ENVELOPE_NAME,
    EXPORT_NAME,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    SigningKeyError,
    key_id,
    load_public_key,
    load_signing_key,
    pae,
    verify_bundle,
)
from app.store.audit.store import append, chain_head

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"

cli = typer.Typer()
cli.add_typer(audit_app, name="audit")


def test_pae_matches_the_dsse_spec_example() -> None:
    # secure-systems-lab/dsse protocol.md, "Test Vectors".
    assert pae("http://example.com/HelloWorld", b"hello world") == (
        b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )
    assert pae("", b"") == b"DSSEv1 0  0 "


def test_pae_verifies_the_spec_example_signature() -> None:
    """The spec's published ECDSA P-256 signature verifies over our PAE bytes (and not others)."""
    x = 46950820868899156662930047687818585632848591499744589407958293238635476079160
    y = 5640078356564379163099075877009565129882514886557779369047442380624545832820
    key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    raw = base64.b64decode(
        "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA=="
    )
    der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
    key.verify(der, pae("http://example.com/HelloWorld", b"hello world"), ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        key.verify(
            der, pae("http://example.com/HelloWorld", b"hello world!"), ec.ECDSA(hashes.SHA256())
        )


@pytest.fixture
def keys(tmp_path: Path) -> tuple[Path, Path]:
    result = CliRunner().invoke(cli, ["audit", "keygen", "-o", str(tmp_path / "keys")])
    assert result.exit_code == 0, result.output
    private, public = (
        tmp_path / "keys" / "signing-key.pem",
        tmp_path / "keys" / "signing-key.pub.pem",
    )
    assert private.stat().st_mode & 0o777 == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    return private, public


def fill(engine: sa.Engine) -> None:
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    for pr in (1, 2, 3):
        append(engine, "evaluation", {"pr": pr})
        append(engine, "merge", MergeRecord.model_validate({**data, "pr": pr}))
    engine.dispose()


def signed_bundle(
    db_url: str, db_engine: sa.Engine, keys: tuple[Path, Path], tmp_path: Path, *args: str
) -> Path:
    fill(db_engine)
    bundle = tmp_path / "bundle"
    env = {"COUNTERSIGN_DATABASE_URL": db_url, "COUNTERSIGN_SIGNING_KEY_PATH": str(keys[0])}
    result = CliRunner().invoke(
        cli, ["audit", "export", "--signed", "-o", str(bundle), *args], env=env
    )
    assert result.exit_code == 0, result.output
    return bundle


def test_signed_bundle_verifies_and_states_the_export(
    db_url: str, db_engine: sa.Engine, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    bundle = signed_bundle(db_url, db_engine, keys, tmp_path, "--repo", "acme/catalog")
    envelope = json.loads((bundle / ENVELOPE_NAME).read_text())
    assert envelope["payloadType"] == PAYLOAD_TYPE
    public = load_public_key(keys[1])
    assert envelope["signatures"][0]["keyid"] == key_id(public)
    statement = json.loads(base64.b64decode(envelope["payload"]))
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    assert statement["predicateType"] == PREDICATE_TYPE
    assert statement["subject"][0]["name"] == EXPORT_NAME
    predicate = statement["predicate"]
    assert predicate["record_count"] == 3
    assert predicate["filter"]["repo"] == "acme/catalog"
    lines = (bundle / EXPORT_NAME).read_text().splitlines()
    first, last = json.loads(lines[1]), json.loads(lines[-2])
    assert predicate["first"] == {"seq": 2, "hash": first["hash"]}
    assert predicate["last"] == {"seq": 6, "hash": last["hash"]}
    seq, digest = chain_head(db_engine)
    assert predicate["chain_head"] == {"seq": seq, "hash": digest}
    assert predicate["generator"]["name"] == "countersign"
    assert verify_bundle(bundle, public) == 3

    result = CliRunner().invoke(
        cli, ["audit", "verify", "--bundle", str(bundle), "--public-key", str(keys[1])]
    )
    assert result.exit_code == 0, result.output
    assert "3 record(s) verified" in result.output


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_one_flipped_byte_anywhere_fails(
    db_url: str, db_engine: sa.Engine, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    bundle = signed_bundle(db_url, db_engine, keys, tmp_path)
    public = load_public_key(keys[1])
    export, envelope_path = bundle / EXPORT_NAME, bundle / ENVELOPE_NAME
    pristine_export, pristine_envelope = export.read_bytes(), envelope_path.read_text()
    for offset in range(0, len(pristine_export), max(1, len(pristine_export) // 40)):
        flip(export, offset)
        with pytest.raises(AuditIntegrityError, match="DIGEST MISMATCH"):
            verify_bundle(bundle, public)
        export.write_bytes(pristine_export)

    envelope = json.loads(pristine_envelope)
    for field in ("payload", "sig"):
        holder = envelope if field == "payload" else envelope["signatures"][0]
        raw = bytearray(base64.b64decode(holder[field]))
        for index in (0, len(raw) // 2, len(raw) - 1):
            changed = bytearray(raw)
            changed[index] ^= 0x01
            doctored = json.loads(pristine_envelope)
            target = doctored if field == "payload" else doctored["signatures"][0]
            target[field] = base64.b64encode(bytes(changed)).decode()
            envelope_path.write_text(json.dumps(doctored))
            with pytest.raises(AuditIntegrityError, match="BAD SIGNATURE"):
                verify_bundle(bundle, public)
    envelope_path.write_text(pristine_envelope)
    assert verify_bundle(bundle, public) == 3


def test_a_consistent_forgery_without_the_key_names_the_first_bad_record(
    db_url: str, db_engine: sa.Engine, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """Editing a record and re-signing with another key: the right key rejects it; with the
    forger's key the chain check names the edited seq."""
    bundle = signed_bundle(db_url, db_engine, keys, tmp_path)
    export = bundle / EXPORT_NAME
    export.write_text(export.read_text().replace('"pr":2,', '"pr":9,', 1))
    other = tmp_path / "other"
    assert CliRunner().invoke(cli, ["audit", "keygen", "-o", str(other)]).exit_code == 0
    forger = load_signing_key(None, other / "signing-key.pem")
    from app.store.audit.signing import write_envelope

    write_envelope(bundle, (6, "0" * 64), forger)
    with pytest.raises(AuditIntegrityError, match="BAD SIGNATURE"):
        verify_bundle(bundle, load_public_key(keys[1]))
    with pytest.raises(AuditIntegrityError, match="first bad seq 4") as caught:
        verify_bundle(bundle, load_public_key(other / "signing-key.pub.pem"))
    assert caught.value.seq == 4
    result = CliRunner().invoke(
        cli, ["audit", "verify", "--bundle", str(bundle), "--public-key", str(keys[1])]
    )
    assert result.exit_code == 1


def test_missing_or_wrong_keys_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(SigningKeyError, match="COUNTERSIGN_SIGNING_KEY"):
        load_signing_key(None, None)
    ec_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(SigningKeyError, match=r"COUNTERSIGN_SIGNING_KEY .*not Ed25519"):
        load_signing_key(ec_key.decode(), None)
    with pytest.raises(SigningKeyError, match="COUNTERSIGN_SIGNING_KEY_PATH"):
        load_signing_key(None, tmp_path / "absent.pem")
    with pytest.raises(SigningKeyError, match="not an unencrypted PEM"):
        load_signing_key("-----BEGIN PRIVATE KEY-----\nxx\n", None)


def test_export_signed_without_a_key_names_the_variable(db_url: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli,
        ["audit", "export", "--signed", "-o", str(tmp_path / "b")],
        env={"COUNTERSIGN_DATABASE_URL": db_url},
    )
    assert result.exit_code == 1
    assert "COUNTERSIGN_SIGNING_KEY" in str(result.exception)
