"""SLSA source VSAs: what each merge earns, signed as DSSE, checked by our verifier and by an
independent one (securesystemslib's DSSE Envelope), and refused when a claim outruns the record."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey
from typer.testing import CliRunner

from app.core.errors import AuditIntegrityError
from app.store.audit.evidence import build_packet
from app.store.audit.records import MergeRecord
from app.store.audit.signing import (
    key_id,
    load_public_key,
    load_signing_key,
    sign_statement,
    verify_bundle,
    write_envelope,
)
from app.store.audit.store import append
from app.store.audit.vsa import (
    LEVEL_1,
    SOD,
    TWO_PARTY,
    VSA_NAME,
    VSA_PREDICATE_TYPE,
    signed_vsa,
    vsa_statement,
)
from tests.store.audit.test_evidence import HEAD, cli, merge_data, record_change

THIRD = {
    "login": "ana-sec",
    "teams": ["@acme/security"],
    "time": "2026-11-21T15:58:00Z",
    "commit": HEAD,
}


def independent_key(public: Any) -> SSlibKey:
    """securesystemslib's own key object; the keyid is only a hint for picking the key."""
    return SSlibKey.from_crypto(public, keyid=key_id(public))


def parsed(envelope: dict[str, Any]) -> Envelope:
    """securesystemslib's Envelope (its `from_dict` rewrites the dict it reads: give it a copy)."""
    return Envelope.from_dict(copy.deepcopy(envelope))


def statement_of(envelope: dict[str, Any]) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return value


def vsa_for(engine: sa.Engine, **overrides: Any) -> dict[str, Any]:
    record_change(engine, merge_data(**overrides))
    return vsa_statement(build_packet(engine, "acme/catalog", 412))


def test_a_green_merge_with_one_independent_approver_is_level_1_not_two_party(
    db_engine: sa.Engine,
) -> None:
    value = vsa_for(db_engine)
    assert value["_type"] == "https://in-toto.io/Statement/v1"
    assert value["predicateType"] == VSA_PREDICATE_TYPE
    assert value["subject"][0]["digest"] == {
        "gitCommit": "0d1e2f30415263748596a7b8c9d0e1f203142536"
    }
    predicate = value["predicate"]
    assert predicate["resourceUri"] == "git+https://github.com/acme/catalog"
    assert predicate["verificationResult"] == "PASSED"
    # maria-finance merged it herself: only tom-ops is independent.
    assert predicate["verifiedLevels"] == [LEVEL_1, SOD]
    with db_engine.connect() as conn:
        seq, digest = conn.execute(
            sa.text("SELECT seq, hash FROM audit_event WHERE kind = 'merge'")
        ).one()
    assert predicate["inputAttestations"] == [
        {"uri": f"countersign:audit-event/{seq}", "digest": {"sha256": digest}}
    ]


def test_two_independent_approvals_of_the_merged_head_are_two_party_reviewed(
    db_engine: sa.Engine,
) -> None:
    approvals = [*merge_data()["approvals"], THIRD]
    levels = vsa_for(db_engine, approvals=approvals)["predicate"]["verifiedLevels"]
    assert levels == [LEVEL_1, TWO_PARTY, SOD]


@pytest.mark.parametrize(
    ("third", "why"),
    [
        ({"login": "review-bot[bot]"}, "a bot"),
        ({"login": "pricing-bot[bot]"}, "the author (an agent)"),
        ({"login": "maria-finance"}, "the merger again"),
        ({"login": "Tom-Ops"}, "the same person twice"),
        ({"time": "2026-11-21T16:30:00Z"}, "after the merge"),
        ({"commit": "1111111111111111111111111111111111111111"}, "an older head"),
        ({"time": None}, "no recorded time"),
    ],
)
def test_approvals_that_do_not_count_never_make_two_parties(
    db_engine: sa.Engine, third: dict[str, Any], why: str
) -> None:
    approvals = [*merge_data()["approvals"], {**THIRD, **third}]
    levels = vsa_for(db_engine, approvals=approvals)["predicate"]["verifiedLevels"]
    assert TWO_PARTY not in levels, why


def test_the_operator_of_the_run_is_not_a_second_party(db_engine: sa.Engine) -> None:
    approvals = [*merge_data()["approvals"], {**THIRD, "login": "li-wei"}]  # started the run
    levels = vsa_for(db_engine, approvals=approvals)["predicate"]["verifiedLevels"]
    assert TWO_PARTY not in levels


@pytest.mark.parametrize(
    "overrides",
    [{"bypass": True}, {"check_conclusion": "failure"}, {"observed": True}],
)
def test_a_merge_the_gate_did_not_pass_fails_with_no_levels(
    db_engine: sa.Engine, overrides: dict[str, Any]
) -> None:
    approvals = [*merge_data()["approvals"], THIRD]
    predicate = vsa_for(db_engine, approvals=approvals, **overrides)["predicate"]
    assert (predicate["verificationResult"], predicate["verifiedLevels"]) == ("FAILED", [])


def test_no_merge_commit_no_vsa(db_engine: sa.Engine) -> None:
    record_change(db_engine, merge_data(merge_commit_sha=None))
    with pytest.raises(ValueError, match="no merge commit"):
        vsa_statement(build_packet(db_engine, "acme/catalog", 412))


def test_an_independent_dsse_verifier_accepts_ours_and_rejects_a_changed_byte(
    db_engine: sa.Engine,
) -> None:
    record_change(db_engine, merge_data(approvals=[*merge_data()["approvals"], THIRD]))
    key = Ed25519PrivateKey.generate()
    envelope = signed_vsa(build_packet(db_engine, "acme/catalog", 412), key)
    theirs = parsed(envelope)
    accepted = theirs.verify([independent_key(key.public_key())], 1)
    assert list(accepted) == [key_id(key.public_key())]
    claim = json.loads(theirs.payload)
    assert TWO_PARTY in claim["predicate"]["verifiedLevels"]

    forged = json.loads(theirs.payload)
    forged["predicate"]["verifiedLevels"].append("SLSA_SOURCE_LEVEL_4")
    doctored = {
        **envelope,
        "payload": base64.b64encode(json.dumps(forged).encode()).decode(),
    }
    with pytest.raises(VerificationError):
        parsed(doctored).verify([independent_key(key.public_key())], 1)
    other = Ed25519PrivateKey.generate()
    with pytest.raises(VerificationError):
        theirs.verify([SSlibKey.from_crypto(other.public_key(), keyid=key_id(key.public_key()))], 1)


def signed_export(db_url: str, tmp_path: Path) -> tuple[Path, Path]:
    """`audit keygen` then `audit export --signed` of the store: the bundle and the key folder."""
    keys = tmp_path / "keys"
    assert CliRunner().invoke(cli, ["audit", "keygen", "-o", str(keys)]).exit_code == 0
    out = tmp_path / "bundle"
    env = {
        "COUNTERSIGN_DATABASE_URL": db_url,
        "COUNTERSIGN_SIGNING_KEY_PATH": str(keys / "signing-key.pem"),
    }
    result = CliRunner().invoke(cli, ["audit", "export", "--signed", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    return out, keys


@pytest.fixture
def bundle(db_url: str, db_engine: sa.Engine, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A signed bundle of three merges (one with two independent approvals) and its keys."""
    record_change(db_engine, merge_data(approvals=[*merge_data()["approvals"], THIRD]))
    append(db_engine, "merge", MergeRecord.model_validate(merge_data(pr=413, bypass=True)))
    append(
        db_engine, "merge", MergeRecord.model_validate(merge_data(pr=414, merge_commit_sha=None))
    )
    db_engine.dispose()
    out, keys = signed_export(db_url, tmp_path)
    return out, keys / "signing-key.pem", keys / "signing-key.pub.pem"


def test_the_signed_bundle_holds_a_vsa_per_merge_both_verifiers_agree(
    bundle: tuple[Path, Path, Path],
) -> None:
    out, _private, public_path = bundle
    public = load_public_key(public_path)
    assert verify_bundle(out, public) == 3
    lines = (out / VSA_NAME).read_text().splitlines()
    assert len(lines) == 2  # 414 has no merge commit: no VSA, and the count says so
    results = []
    for line in lines:
        theirs = parsed(json.loads(line))
        theirs.verify([independent_key(public)], 1)
        results.append(json.loads(theirs.payload)["predicate"])
    assert [(p["verificationResult"], p["verifiedLevels"]) for p in results] == [
        ("PASSED", [LEVEL_1, TWO_PARTY, SOD]),
        ("FAILED", []),  # 413 was a bypass
    ]
    result = CliRunner().invoke(
        cli, ["audit", "verify", "--bundle", str(out), "--public-key", str(public_path)]
    )
    assert result.exit_code == 0, result.output
    assert "3 record(s) verified, and 2 SLSA VSA(s)" in result.output


def rewrite_vsas(out: Path, private: Path, edit: Any) -> None:
    """An insider with the signing key rewrites the VSA file and re-signs the whole bundle."""
    key = load_signing_key(None, private)
    lines = []
    for line in (out / VSA_NAME).read_text().splitlines():
        value = edit(statement_of(json.loads(line)))
        if value is not None:
            lines.append(json.dumps(sign_statement(value, key)))
    (out / VSA_NAME).write_text("".join(f"{line}\n" for line in lines))
    write_envelope(out, (99, "0" * 64), key)


def claim_two_party_everywhere(value: dict[str, Any]) -> dict[str, Any]:
    value["predicate"]["verificationResult"] = "PASSED"
    value["predicate"]["verifiedLevels"] = [LEVEL_1, TWO_PARTY]
    return value


def test_a_signed_claim_the_record_does_not_support_is_refused(
    bundle: tuple[Path, Path, Path],
) -> None:
    out, private, public = bundle
    rewrite_vsas(out, private, claim_two_party_everywhere)
    with pytest.raises(AuditIntegrityError, match="did not pass the gate"):
        verify_bundle(out, load_public_key(public))


def test_a_signed_sod_claim_the_record_does_not_support_is_refused(
    db_url: str, db_engine: sa.Engine, tmp_path: Path
) -> None:
    # 412's author merged it: segregation of duties fails, and the record shows it
    record_change(db_engine, merge_data(merged_by=merge_data()["author"]))
    db_engine.dispose()
    out, keys = signed_export(db_url, tmp_path)
    public = load_public_key(keys / "signing-key.pub.pem")
    (line,) = (out / VSA_NAME).read_text().splitlines()
    assert SOD not in statement_of(json.loads(line))["predicate"]["verifiedLevels"]
    assert verify_bundle(out, public) == 1

    def claim_sod(value: dict[str, Any]) -> dict[str, Any]:
        value["predicate"]["verifiedLevels"] = [*value["predicate"]["verifiedLevels"], SOD]
        return value

    rewrite_vsas(out, keys / "signing-key.pem", claim_sod)
    with pytest.raises(AuditIntegrityError, match="ORG_SOURCE_COUNTERSIGN_SOD"):
        verify_bundle(out, public)


def test_a_dropped_or_changed_vsa_is_refused(bundle: tuple[Path, Path, Path]) -> None:
    out, private, public = bundle
    pristine = (out / VSA_NAME).read_text()
    (out / VSA_NAME).write_text(pristine.splitlines()[0] + "\n")
    with pytest.raises(AuditIntegrityError, match="DIGEST MISMATCH"):
        verify_bundle(out, load_public_key(public))
    (out / VSA_NAME).write_text(pristine)
    rewrite_vsas(out, private, lambda v: None if "FAILED" in json.dumps(v) else v)
    with pytest.raises(AuditIntegrityError, match="missing seqs"):
        verify_bundle(out, load_public_key(public))


def test_a_vsa_file_the_statement_does_not_cover_is_refused(
    bundle: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A bundle signed before VSAs existed verifies; adding a VSA file to it does not."""
    out, private, public = bundle
    vsas = (out / VSA_NAME).read_text()
    (out / VSA_NAME).unlink()
    write_envelope(out, (99, "0" * 64), load_signing_key(None, private))
    assert verify_bundle(out, load_public_key(public)) == 3
    (out / VSA_NAME).write_text(vsas)
    with pytest.raises(AuditIntegrityError, match="not covered by the signed statement"):
        verify_bundle(out, load_public_key(public))


def test_a_vsa_for_another_commit_is_refused(bundle: tuple[Path, Path, Path]) -> None:
    out, private, public = bundle

    def other_commit(value: dict[str, Any]) -> dict[str, Any]:
        value["subject"][0]["digest"]["gitCommit"] = "f" * 40
        return value

    rewrite_vsas(out, private, other_commit)
    with pytest.raises(AuditIntegrityError, match=r"not seq \d+.s merge commit"):
        verify_bundle(out, load_public_key(public))


def test_evidence_command_prints_the_signed_vsa(
    db_url: str, db_engine: sa.Engine, tmp_path: Path
) -> None:
    record_change(db_engine, merge_data())
    db_engine.dispose()
    env = {"COUNTERSIGN_DATABASE_URL": db_url}
    refused = CliRunner().invoke(
        cli, ["audit", "evidence", "acme/catalog#412", "--format", "vsa"], env=env
    )
    assert refused.exit_code != 0
    assert "COUNTERSIGN_SIGNING_KEY" in str(refused.exception)
    keys = tmp_path / "keys"
    assert CliRunner().invoke(cli, ["audit", "keygen", "-o", str(keys)]).exit_code == 0
    env["COUNTERSIGN_SIGNING_KEY_PATH"] = str(keys / "signing-key.pem")
    result = CliRunner().invoke(
        cli, ["audit", "evidence", "acme/catalog#412", "--format", "vsa"], env=env
    )
    assert result.exit_code == 0, result.output
    public = load_public_key(keys / "signing-key.pub.pem")
    theirs = parsed(json.loads(result.output))
    theirs.verify([independent_key(public)], 1)
    assert json.loads(theirs.payload)["predicate"]["verificationResult"] == "PASSED"
