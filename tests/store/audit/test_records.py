"""Audit records reuse the report's models: a merge's findings are the report's `Finding`."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.report import Finding
from app.store.audit.chain import canonical_json
from app.store.audit.records import MergeFinding, MergeRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "audit"


def test_merge_finding_is_a_finding_whose_message_may_be_missing() -> None:
    finding = Finding(rule="pricing.drop", severity="high", tier=2, file="p.csv", message="why")
    recorded = MergeFinding.model_validate(finding.model_dump())
    assert isinstance(recorded, Finding)
    assert recorded.model_dump() == finding.model_dump()
    assert MergeFinding(rule="r", severity="low", tier=0).message == ""
    assert list(MergeFinding.model_fields) == list(Finding.model_fields)


def test_the_merge_fixture_keeps_its_findings_byte_for_byte() -> None:
    data = json.loads((FIXTURES / "merge_pricing.json").read_text())
    assert data["findings"], "the fixture records findings"
    record = MergeRecord.model_validate(data)
    dumped = record.model_dump(mode="json")
    assert canonical_json(dumped["findings"]) == canonical_json(data["findings"])
    assert {k: dumped[k] for k in data} == data
