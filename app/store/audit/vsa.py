"""SLSA Source Verification Summary Attestations (VSA), one per merge, signed as DSSE envelopes.

A VSA is an in-toto Statement v1 with predicateType `https://slsa.dev/verification_summary/v1`
about the merge commit (`subject[0].digest.gitCommit`): Countersign, as verifier, says whether the
gate passed for the merged head and which source-track levels and properties it can vouch for:

- `verificationResult` is `PASSED` only when the gate enforced and was green at merge: check
  conclusion `success`, not a bypass (break-glass included), not observe mode, and the merged
  head's evaluation (policy `allow`) is on record. Otherwise `FAILED`, with no levels.
- `SLSA_SOURCE_LEVEL_1`: the revision is a git commit on the source control system. Higher levels
  depend on the SCS's own settings (branch protection, history), which Countersign does not see.
- `SLSA_SOURCE_TWO_PARTY_REVIEWED`: only when two distinct people approved the merged head before
  the merge and each is independent (not the author, the merger, the operator who started the
  agent run, nor an agent or bot; see app.store.audit.evidence).
- `ORG_SOURCE_COUNTERSIGN_SOD`: the segregation-of-duties verdict of the evidence packet passed.

Everything comes from the audit store, so the same merge gives the same bytes (Ed25519 signatures
are deterministic). In a signed bundle the VSAs sit next to the export, one envelope per line in
`audit-vsa.intoto.jsonl`, and `verify_vsas` checks each against the export's merge records.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine

from app import __version__
from app.core.errors import AuditIntegrityError
from app.store.audit.chain import iso_utc
from app.store.audit.evidence import EvidencePacket
from app.store.audit.evidence_batch import merge_packets
from app.store.audit.signing import STATEMENT_TYPE, sign_statement, verify_envelope

VSA_PREDICATE_TYPE = "https://slsa.dev/verification_summary/v1"
VSA_NAME = "audit-vsa.intoto.jsonl"
VERIFIER_ID = "https://countersign.dev/verifier/v1"
POLICY_URI = "https://countersign.dev/gate-policy"
SLSA_VERSION = "1.2"
LEVEL_1 = "SLSA_SOURCE_LEVEL_1"
TWO_PARTY = "SLSA_SOURCE_TWO_PARTY_REVIEWED"
SOD = "ORG_SOURCE_COUNTERSIGN_SOD"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_EVENT_URI = "countersign:audit-event/"


def repository_uri(pr_url: str) -> str:
    """`git+https://github.com/acme/api` from the PR's URL (`…/pull/42`)."""
    return "git+" + re.sub(r"/pull/[0-9]+/?$", "", pr_url)


def two_party_reviewers(packet: EvidencePacket) -> list[str]:
    """The distinct independent approvers of the merged head, before the merge."""
    seen: dict[str, str] = {}
    for approval in packet.approvals:
        if approval.independent and approval.at_merged_head and approval.before_merge:
            seen.setdefault(approval.login.casefold(), approval.login)
    return sorted(seen.values())


def passed(packet: EvidencePacket) -> bool:
    """The gate enforced and was green at merge, by an evaluation of the merged head on record."""
    return (
        packet.check_conclusion == "success"
        and not packet.bypass
        and not packet.observed
        and packet.tier != "blocked"
        and packet.evaluation_seq is not None  # the merged head's evaluation is on record
        and packet.policy_decision == "allow"
    )


def verified_levels(packet: EvidencePacket) -> list[str]:
    if not passed(packet):
        return []
    levels = [LEVEL_1]
    if len(two_party_reviewers(packet)) >= 2:
        levels.append(TWO_PARTY)
    if packet.segregation_of_duties.verdict == "pass":
        levels.append(SOD)
    return levels


def _policy(version: str) -> dict[str, Any]:
    digest = version.removeprefix("sha256:")
    if _HEX64.match(digest):
        return {"uri": POLICY_URI, "digest": {"sha256": digest}}
    return {"uri": f"{POLICY_URI}#{version}"}


def vsa_statement(packet: EvidencePacket) -> dict[str, Any]:
    """The in-toto Statement of one merge's VSA; ValueError when no merge commit is recorded."""
    commit = packet.merge_commit_sha
    if not commit:
        raise ValueError(f"{packet.repo}#{packet.pr}: no merge commit is recorded, no VSA")
    repo_uri = repository_uri(packet.url)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"uri": f"{repo_uri}@{commit}", "digest": {"gitCommit": commit}},
        ],
        "predicateType": VSA_PREDICATE_TYPE,
        "predicate": {
            "verifier": {"id": VERIFIER_ID, "version": {"countersign": __version__}},
            "timeVerified": iso_utc(packet.merged_at),
            "resourceUri": repo_uri,
            "policy": _policy(packet.policy_version),
            "inputAttestations": [
                {
                    "uri": f"{_EVENT_URI}{packet.chain_seq}",
                    "digest": {"sha256": packet.chain_hash},
                }
            ],
            "verificationResult": "PASSED" if passed(packet) else "FAILED",
            "verifiedLevels": verified_levels(packet),
            "slsaVersion": SLSA_VERSION,
        },
    }


def signed_vsa(packet: EvidencePacket, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The DSSE envelope of one merge's VSA, signed with the audit signing key."""
    return sign_statement(vsa_statement(packet), key)


def _export_merges(export: Path) -> Iterator[dict[str, Any]]:
    with export.open(encoding="utf-8") as handle:
        for line in handle:
            data = json.loads(line) if line.strip() else {}
            if "seq" in data and "hash" in data:
                yield data


def write_vsas(directory: Path, export_name: str, engine: Engine, key: Ed25519PrivateKey) -> int:
    """One signed VSA per merge record of the export that has a merge commit; how many."""
    count = 0
    merges = (r for r in _export_merges(directory / export_name) if r.get("merge_commit_sha"))
    with (directory / VSA_NAME).open("w", encoding="utf-8") as out:
        for packet in merge_packets(engine, merges):  # the PRs' events read in batches
            out.write(json.dumps(signed_vsa(packet, key), separators=(",", ":")) + "\n")
            count += 1
    return count


def vsa_summary(directory: Path) -> dict[str, Any] | None:
    """`{name, sha256, count}` of the bundle's VSA file, for the export statement; None if absent."""
    path = directory / VSA_NAME
    if not path.is_file():
        return None
    data = path.read_bytes()
    return {
        "name": VSA_NAME,
        "sha256": hashlib.sha256(data).hexdigest(),
        "count": sum(1 for line in data.splitlines() if line.strip()),
    }


def verify_vsas(directory: Path, export: Path, claim: Any, public_key: Ed25519PublicKey) -> int:
    """Check the VSA file the signed statement names: digest, count, each signature, and that
    each VSA matches its merge record and claims nothing the record does not show."""
    if not isinstance(claim, dict) or claim.get("name") != VSA_NAME:
        raise AuditIntegrityError(f"the statement's vsa entry {claim!r} does not name {VSA_NAME}")
    path = directory / VSA_NAME
    if not path.is_file():
        raise AuditIntegrityError(f"the VSA file {path} named by the statement is missing")
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != claim.get("sha256"):
        raise AuditIntegrityError(f"DIGEST MISMATCH: {path} differs from the signed statement")
    records = {int(r["seq"]): r for r in _export_merges(export) if r.get("merge_commit_sha")}
    seen: set[int] = set()
    for number, line in enumerate(data.decode("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            envelope = json.loads(line)
        except ValueError:
            raise AuditIntegrityError(f"{path}:{number} is not a JSON envelope") from None
        if not isinstance(envelope, dict):
            raise AuditIntegrityError(f"{path}:{number} is not a JSON envelope")
        seq = _check_vsa(verify_envelope(envelope, public_key), records, f"{path}:{number}")
        if seq in seen:
            raise AuditIntegrityError(f"{path}:{number}: a second VSA for seq {seq}")
        seen.add(seq)
    if len(seen) != claim.get("count") or seen != set(records):
        missing = sorted(set(records) - seen)
        raise AuditIntegrityError(
            f"{path} holds {len(seen)} VSA(s), the statement says {claim.get('count')} and the "
            f"export has {len(records)} merge(s) with a merge commit (missing seqs {missing[:5]})"
        )
    return len(seen)


def _check_vsa(value: dict[str, Any], records: dict[int, dict[str, Any]], where: str) -> int:
    if value.get("_type") != STATEMENT_TYPE or value.get("predicateType") != VSA_PREDICATE_TYPE:
        raise AuditIntegrityError(f"{where}: not an in-toto statement with a SLSA VSA predicate")
    predicate = _first(value.get("predicate"))
    source = _first(predicate.get("inputAttestations"))
    uri = str(source.get("uri", ""))
    seq = int(uri.removeprefix(_EVENT_URI)) if uri.removeprefix(_EVENT_URI).isdigit() else -1
    record = records.get(seq)
    if record is None or _first(source.get("digest")).get("sha256") != record["hash"]:
        raise AuditIntegrityError(f"{where}: the VSA names no merge record of the export ({uri})")
    subject = _first(value.get("subject"))
    if _first(subject.get("digest")).get("gitCommit") != record["merge_commit_sha"]:
        raise AuditIntegrityError(f"{where}: the VSA's commit is not seq {seq}'s merge commit")
    if predicate.get("resourceUri") != repository_uri(str(record["url"])):
        raise AuditIntegrityError(f"{where}: the VSA's resourceUri is not seq {seq}'s repository")
    result, levels = predicate.get("verificationResult"), predicate.get("verifiedLevels") or []
    green = record.get("check_conclusion") == "success" and not record.get("bypass")
    if result == "PASSED" and not (green and not record.get("observed")):
        raise AuditIntegrityError(f"{where}: PASSED, but seq {seq} did not pass the gate")
    if result != "PASSED" and levels:
        raise AuditIntegrityError(f"{where}: a FAILED VSA claims levels {levels}")
    if TWO_PARTY in levels and len(_record_reviewers(record)) < 2:
        raise AuditIntegrityError(
            f"{where}: claims {TWO_PARTY}, but seq {seq} shows fewer than two approvals of the "
            "merged head before the merge by people other than the author and the merger"
        )
    if SOD in levels and not _record_separates_duties(record):
        raise AuditIntegrityError(
            f"{where}: claims {SOD}, but seq {seq} shows no approval before the merge by someone "
            "other than the author and the merger, or the author merged it"
        )
    return seq


def _first(value: Any) -> dict[str, Any]:
    """The object itself, or a list's first item; {} for anything else (then checks fail)."""
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else {}


def _record_separates_duties(record: dict[str, Any]) -> bool:
    """What the record alone shows of segregation of duties (the packet's verdict also excludes
    operators and agents): a merger who is not the author, and one approval by someone else."""
    merger, author = str(record.get("merged_by") or ""), str(record.get("author") or "")
    if not merger or merger.casefold() == author.casefold():
        return False
    return bool(_record_reviewers(record, at_head=False))


def _record_reviewers(record: dict[str, Any], *, at_head: bool = True) -> set[str]:
    """What the merge record alone shows: distinct non-bot approvers (of the merged head unless
    `at_head` is false), before the merge, who are neither the author nor the merger (the packet
    also excludes operators)."""
    excluded = {str(record.get(k) or "").casefold() for k in ("author", "merged_by")}
    logins: set[str] = set()
    for approval in record.get("approvals") or []:
        login = str(approval.get("login") or "").casefold()
        if not login or login in excluded or login.endswith("[bot]"):
            continue
        if at_head and approval.get("commit") != record.get("head_sha"):
            continue
        when, merged = _moment(approval.get("time")), _moment(record.get("merged_at"))
        if when is None or merged is None or when > merged:
            continue
        logins.add(login)
    return logins


def _moment(value: Any) -> datetime | None:
    """An aware datetime from recorded ISO text; None when absent or unreadable (never counts)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None
