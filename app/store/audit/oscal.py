"""The merge audit trail of a period as an OSCAL 1.1.2 Assessment Results document (`oscal-ar`).

For GRC tools that read OSCAL: one `result` for the period whose `observations` are the merges
(agent, run ID, tier, approvals, segregation of duties, bypass and its post-merge review, the
chain record) and whose `findings` are what an assessor must look at: each bypass merge
(NIST SP 800-53 CM-3, change control) and each failed segregation of duties (AC-5). The same
records give the same bytes: every UUID is a uuid5 of what it names (the merge record's chain
hash, the filter), and every time comes from the records, never the clock.
The facts come from the evidence packets (app.store.audit.evidence), so the console, `audit
evidence` and this document never disagree.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from app import __version__
from app.store.audit.chain import iso_utc
from app.store.audit.evidence import EvidencePacket
from app.store.audit.evidence_batch import merge_packets
from app.store.audit.export import export_merges

OSCAL_VERSION = "1.1.2"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://countersign.dev/oscal")
PROP_NS = "https://countersign.dev/ns/oscal"
IMPORT_AP = "https://countersign.dev/assessment-plan/merge-gate"
CHANGE_CONTROL, SEPARATION = "cm-3", "ac-5"
EPOCH = "1970-01-01T00:00:00.000000Z"
_SPACE = re.compile(r"\s+")


def _uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "|".join(str(p) for p in parts)))


TOOL_UUID = _uuid("component", "countersign")


def _line(value: object) -> str:
    """One line, no edge whitespace (OSCAL's StringDatatype); agent-written text stays data."""
    return _SPACE.sub(" ", str(value)).strip()


def _props(pairs: Iterable[tuple[str, object]]) -> list[dict[str, str]]:
    out = []
    for name, value in pairs:
        text = _line(value) if value is not None else ""
        if text:
            out.append({"name": name, "ns": PROP_NS, "value": text})
    return out


def _origin() -> list[dict[str, Any]]:
    return [{"actors": [{"type": "tool", "actor-uuid": TOOL_UUID}]}]


def _post_review(packet: EvidencePacket) -> str | None:
    if not packet.bypass:
        return None
    if packet.bypass_review is not None:
        return "reviewed"
    return "needed"


def _observation(packet: EvidencePacket) -> dict[str, Any]:
    sod = packet.segregation_of_duties
    approvals = ", ".join(a.login for a in packet.approvals) or "none"
    description = (
        f"{packet.repo}#{packet.pr} was merged by {packet.merged_by or 'an unrecorded user'} "
        f"at tier {packet.tier} with approvals from {approvals}; segregation of duties "
        f"{sod.verdict}; check conclusion at merge {packet.check_conclusion or 'not recorded'}"
        + ("; merged past the gate (bypass)." if packet.bypass else ".")
    )
    pairs: list[tuple[str, object]] = [
        ("repository", packet.repo),
        ("pull-request", packet.pr),
        ("agent", packet.agent_id),
        ("run-id", packet.run_id),
        ("operator", packet.operator),
        ("author", packet.author),
        ("merged-by", packet.merged_by),
        ("tier", packet.tier),
        ("risk-level", packet.risk_level),
        ("check-conclusion", packet.check_conclusion),
        ("approval-count", len(packet.approvals)),
        *(("approver", a.login) for a in packet.approvals),
        *(("independent-approver", login) for login in sod.independent_approvers),
        ("sod", sod.verdict),
        ("bypass", str(packet.bypass).lower()),
        ("break-glass", str(packet.break_glass is not None).lower()),
        ("observe-mode", str(packet.observed).lower()),
        ("post-review", _post_review(packet)),
        ("post-reviewer", packet.bypass_review.reviewer if packet.bypass_review else None),
        ("head-sha", packet.head_sha),
        ("merge-commit", packet.merge_commit_sha),
        ("policy-version", packet.policy_version),
        ("chain-seq", packet.chain_seq),
        ("chain-hash", packet.chain_hash),
    ]
    evidence = [
        {"href": f"countersign:audit-event/{packet.chain_seq}", "description": "The merge record"}
    ]
    if packet.url.startswith(("https://", "http://")):
        evidence.insert(0, {"href": packet.url, "description": "The pull request"})
    return {
        "uuid": _uuid("observation", packet.chain_hash),
        "title": _line(f"Merge of {packet.repo}#{packet.pr}: {packet.title}")[:500],
        "description": description,
        "props": _props(pairs),
        "methods": ["TEST"],
        "types": ["control-objective"],
        "origins": _origin(),
        "relevant-evidence": evidence,
        "collected": iso_utc(packet.merged_at),
    }


def _finding(
    packet: EvidencePacket, kind: str, control: str, title: str, text: str
) -> dict[str, Any]:
    return {
        "uuid": _uuid("finding", kind, packet.chain_hash),
        "title": _line(title),
        "description": text,
        "props": _props([("kind", kind), ("post-review", _post_review(packet))]),
        "origins": _origin(),
        "target": {
            "type": "statement-id",
            "target-id": f"{control}_smt",
            "status": {"state": "not-satisfied", "reason": "fail"},
        },
        "related-observations": [{"observation-uuid": _uuid("observation", packet.chain_hash)}],
    }


def _findings(packet: EvidencePacket) -> list[dict[str, Any]]:
    out = []
    where = f"{packet.repo}#{packet.pr}"
    if packet.bypass:
        glass = packet.break_glass
        how = (
            f"break-glass by {glass.by or 'unknown'} ({glass.reason or 'no reason recorded'})"
            if glass is not None
            else "merged while the gate's check was not green"
        )
        review = packet.bypass_review
        after = (
            f"Reviewed after the merge by {review.reviewer}: {review.note}"
            if review is not None
            else "No post-merge review is recorded yet."
        )
        out.append(
            _finding(
                packet,
                "bypass",
                CHANGE_CONTROL,
                f"Bypass merge of {where}",
                f"{where} was merged past the gate: {how}. {after}",
            )
        )
    if packet.segregation_of_duties.verdict == "fail":
        out.append(
            _finding(
                packet,
                "segregation-of-duties",
                SEPARATION,
                f"Segregation of duties failed for {where}",
                f"{where}: " + "; ".join(packet.segregation_of_duties.violations) + ".",
            )
        )
    return out


def _packets(
    engine: Engine,
    since: datetime | None,
    until: datetime | None,
    repo: str | None,
    agent: str | None,
) -> list[EvidencePacket]:
    with closing(export_merges(engine, since, until, repo, agent)) as lines:
        records = (json.loads(line) for line in lines)
        merges = (r for r in records if "seq" in r and "hash" in r)
        return list(merge_packets(engine, merges))  # the PRs' events read in batches


def assessment_results(
    engine: Engine,
    since: datetime | None = None,
    until: datetime | None = None,
    repo: str | None = None,
    agent: str | None = None,
) -> dict[str, Any]:
    """The OSCAL Assessment Results document for the merges recorded in [since, until)."""
    packets = _packets(engine, since, until, repo, agent)
    times = [iso_utc(p.merged_at) for p in packets]
    start = iso_utc(since) if since else min(times, default=EPOCH)
    end = iso_utc(until) if until else max(times, default=start)
    scope = (start, end, repo or "*", agent or "*", packets[-1].chain_hash if packets else "")
    title = f"Countersign merge gate, {start[:10]} to {end[:10]}" + (f", {repo}" if repo else "")
    result: dict[str, Any] = {
        "uuid": _uuid("result", *scope),
        "title": title,
        "description": (
            f"{len(packets)} merge(s) checked by the Countersign gate: who proposed each change, "
            "who approved it, segregation of duties, and every merge past the gate."
        ),
        "start": start,
        "end": end,
        "props": _props([("repository-filter", repo), ("agent-filter", agent)]) or None,
        "local-definitions": {"components": [_tool()]},
        "reviewed-controls": {
            "control-selections": [
                {"include-controls": [{"control-id": CHANGE_CONTROL}, {"control-id": SEPARATION}]}
            ]
        },
        "observations": [_observation(p) for p in packets] or None,
        "findings": [f for p in packets for f in _findings(p)] or None,
    }
    return {
        "assessment-results": {
            "uuid": _uuid("assessment-results", *scope),
            "metadata": {
                "title": title,
                "last-modified": end,
                "version": f"audit-chain-{packets[-1].chain_seq if packets else 0}",
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": {"href": IMPORT_AP},
            "results": [{k: v for k, v in result.items() if v is not None}],
        }
    }


def _tool() -> dict[str, Any]:
    return {
        "uuid": TOOL_UUID,
        "type": "software",
        "title": "Countersign",
        "description": "The policy gate between AI agents and the systems they change.",
        "props": _props([("version", __version__)]),
        "status": {"state": "operational"},
    }


def render_oscal(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
