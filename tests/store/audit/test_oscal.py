"""OSCAL Assessment Results export: valid against NIST's published 1.1.2 schema, one observation
per merge, findings for bypasses and failed segregation of duties, the same bytes every time."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from app.store.audit.oscal import assessment_results, render_oscal
from app.store.audit.records import BypassReviewRecord, MergeRecord
from app.store.audit.store import append
from tests.specs.standards import OSCAL_AR, errors
from tests.store.audit.test_evidence import cli, merge_data, record_change


def fill(engine: sa.Engine) -> None:
    """412 green; 413 a bypass reviewed afterwards; 414 merged by its own author (SoD fails)."""
    record_change(engine, merge_data())
    append(engine, "bypass_merge", MergeRecord.model_validate(merge_data(pr=413, bypass=True)))
    with engine.connect() as conn:
        seq, digest = conn.execute(
            sa.text("SELECT seq, hash FROM audit_event WHERE pr_number = 413")
        ).one()
    review = BypassReviewRecord(
        merge_seq=seq, merge_hash=digest, merged_by="maria-finance", reviewer="sam-audit",
        note="Hotfix during the outage; change was correct.",
    )  # fmt: skip
    append(engine, "bypass_reviewed", review, repo="acme/catalog", pr_number=413)
    late = merge_data(
        pr=414,
        author="tom-ops",
        merged_by="tom-ops",
        merged_at="2026-11-22T09:00:00Z",
        title="  Tidy\nplans  ",
    )
    append(engine, "merge", MergeRecord.model_validate(late))


def props(item: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for prop in item.get("props", []):
        out.setdefault(prop["name"], []).append(prop["value"])
    return out


def test_the_period_validates_against_nists_schema(db_engine: sa.Engine) -> None:
    fill(db_engine)
    document = assessment_results(db_engine)
    assert errors(OSCAL_AR, document) == []
    ar = document["assessment-results"]
    assert ar["metadata"]["oscal-version"] == "1.1.2"
    broken = json.loads(json.dumps(document))
    del broken["assessment-results"]["import-ap"]
    broken["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] = "ok"
    assert len(errors(OSCAL_AR, broken)) >= 2  # the schema check can fail


def test_observations_per_merge_and_findings_for_bypass_and_sod(db_engine: sa.Engine) -> None:
    fill(db_engine)
    (result,) = assessment_results(db_engine)["assessment-results"]["results"]
    observations = {props(o)["pull-request"][0]: o for o in result["observations"]}
    assert sorted(observations) == ["412", "413", "414"]
    green = props(observations["412"])
    assert green["agent"] == ["pricing-bot"]
    assert green["run-id"] == ["run_pricing_2026-11-21_0042"]
    assert green["operator"] == ["li-wei"]
    assert green["tier"] == ["2"]
    assert green["approver"] == ["maria-finance", "tom-ops"]
    assert green["independent-approver"] == ["tom-ops"]
    assert (green["sod"], green["bypass"]) == (["pass"], ["false"])
    assert "post-review" not in green
    bypass = props(observations["413"])
    assert (bypass["bypass"], bypass["post-review"]) == (["true"], ["reviewed"])
    assert bypass["post-reviewer"] == ["sam-audit"]
    assert props(observations["414"])["sod"] == ["fail"]
    assert observations["414"]["title"] == "Merge of acme/catalog#414: Tidy plans"

    by_kind = {props(f)["kind"][0]: f for f in result["findings"]}
    assert sorted(by_kind) == ["bypass", "segregation-of-duties"]
    assert by_kind["bypass"]["target"]["target-id"] == "cm-3_smt"
    assert "sam-audit" in by_kind["bypass"]["description"]
    assert by_kind["segregation-of-duties"]["target"]["target-id"] == "ac-5_smt"
    assert "merged their own change" in by_kind["segregation-of-duties"]["description"]
    assert by_kind["bypass"]["related-observations"] == [
        {"observation-uuid": observations["413"]["uuid"]}
    ]


def test_the_same_records_give_the_same_bytes(db_engine: sa.Engine) -> None:
    fill(db_engine)
    first = render_oscal(assessment_results(db_engine))
    assert render_oscal(assessment_results(db_engine)) == first
    document = json.loads(first)
    assert uuid.UUID(document["assessment-results"]["uuid"]).version == 5
    append(db_engine, "merge", MergeRecord.model_validate(merge_data(pr=415)))
    changed = json.loads(render_oscal(assessment_results(db_engine)))
    assert changed["assessment-results"]["uuid"] != document["assessment-results"]["uuid"]
    kept = {o["uuid"] for o in document["assessment-results"]["results"][0]["observations"]}
    now = {o["uuid"] for o in changed["assessment-results"]["results"][0]["observations"]}
    assert kept < now  # an observation keeps its UUID in every later export


def test_a_period_filters_and_an_empty_one_is_still_valid(db_engine: sa.Engine) -> None:
    fill(db_engine)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    document = assessment_results(db_engine, since=since, repo="acme/catalog")
    assert len(document["assessment-results"]["results"][0]["observations"]) == 3
    empty = assessment_results(db_engine, repo="acme/nothing-here")
    assert errors(OSCAL_AR, empty) == []
    assert "observations" not in empty["assessment-results"]["results"][0]


def test_cli_writes_the_document(db_url: str, db_engine: sa.Engine, tmp_path: Path) -> None:
    fill(db_engine)
    db_engine.dispose()
    out = tmp_path / "ar.json"
    env = {"COUNTERSIGN_DATABASE_URL": db_url}
    result = CliRunner().invoke(
        cli, ["audit", "export", "--format", "oscal-ar", "-o", str(out)], env=env
    )
    assert result.exit_code == 0, result.output
    assert errors(OSCAL_AR, json.loads(out.read_text())) == []
    again = CliRunner().invoke(cli, ["audit", "export", "--format", "oscal-ar"], env=env)
    assert again.exit_code == 0
    assert again.stdout == out.read_text()


@pytest.mark.parametrize("extra", [["--signed", "-o", "x"]])
def test_oscal_is_never_signed_as_a_bundle(db_url: str, extra: list[str]) -> None:
    result = CliRunner().invoke(
        cli,
        ["audit", "export", "--format", "oscal-ar", *extra],
        env={"COUNTERSIGN_DATABASE_URL": db_url},
    )
    assert result.exit_code != 0
    assert "--signed writes JSONL only" in str(result.exception)
