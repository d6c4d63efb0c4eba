"""SARIF output: valid against the OASIS SARIF 2.1.0 schema, one result per finding, stable
fingerprints, and problems that fail the run instead of an empty, green-looking log."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.config.shipped import gate_dir
from app.core.report import Finding, Report
from app.gate.render.sarif import (
    ANCHOR,
    FINGERPRINT_KEY,
    PROBLEM_RULE,
    fingerprint,
    render_sarif,
    rule_infos,
)
from app.risk.rules import load_rule_pack
from tests.specs.standards import SARIF, errors


def finding(
    rule: str = "terraform.delete",
    *,
    severity: str = "high",
    file: str | None = "infra/db.tf",
    line: int | None = 10,
    address: str | None = "aws_db_instance.orders",
    message: str = "Deletes a database.",
) -> Finding:
    return Finding(
        rule=rule,
        severity=severity,  # type: ignore[arg-type]
        tier=2,
        file=file,
        line=line,
        address=address,
        message=message,
    )


def sarif(*findings: Finding, problems: tuple[str, ...] = ()) -> dict[str, object]:
    report = Report(findings=findings, tier=2, problems=problems)
    return render_sarif(report, rule_infos(load_rule_pack(gate_dir("rules_dir"))))


def test_every_severity_validates_against_the_sarif_schema() -> None:
    doc = sarif(
        finding(severity="critical"),
        finding("k8s.image", severity="medium", file="k8s/web.yaml", line=None),
        finding("plan.replace", severity="low", file=None, line=None),
        finding("docs.rename", severity="info", address=None),
        problems=("could not read .github/countersign.yml",),
    )
    assert errors(SARIF, doc) == []


def test_the_schema_check_can_fail() -> None:
    doc = sarif(finding())
    doc["runs"][0]["results"][0]["level"] = "fatal"  # type: ignore[index]
    assert errors(SARIF, doc)


def test_one_result_per_finding_with_rule_metadata_and_location() -> None:
    doc = sarif(finding(), finding(address="aws_db_instance.users", line=30))
    run = doc["runs"][0]  # type: ignore[index]
    assert [r["ruleId"] for r in run["results"]] == ["terraform.delete", "terraform.delete"]
    (rule,) = run["tool"]["driver"]["rules"]
    assert rule["id"] == "terraform.delete"
    assert rule["shortDescription"]["text"]  # from the shipped rule pack
    assert all(r["ruleIndex"] == 0 for r in run["results"])
    first = run["results"][0]
    assert first["level"] == "error"
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "infra/db.tf"
    assert physical["region"] == {"startLine": 10}
    assert first["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "aws_db_instance.orders"
    )


def test_severity_maps_to_level() -> None:
    levels = {
        s: sarif(finding(severity=s))["runs"][0]["results"][0]["level"]  # type: ignore[index]
        for s in ("critical", "high", "medium", "low", "info")
    }
    assert levels == {
        "critical": "error",
        "high": "error",
        "medium": "warning",
        "low": "note",
        "info": "note",
    }


def test_fingerprints_ignore_line_numbers_but_not_the_object() -> None:
    before = fingerprint(finding(line=10))
    assert fingerprint(finding(line=42)) == before  # the next push moved it down the file
    assert fingerprint(finding(address="aws_db_instance.users")) != before
    assert fingerprint(finding(file="infra/other.tf")) != before
    assert fingerprint(finding("terraform.replace")) != before


def test_duplicate_findings_get_distinct_fingerprints() -> None:
    doc = sarif(finding(line=1), finding(line=2))
    prints = [
        r["partialFingerprints"][FINGERPRINT_KEY]
        for r in doc["runs"][0]["results"]  # type: ignore[index]
    ]
    assert len(set(prints)) == 2
    assert prints[1] == f"{prints[0]}:2"


def test_problems_fail_the_run_rather_than_look_clean() -> None:
    doc = sarif(problems=("the rule pack did not load",))
    (invocation,) = doc["runs"][0]["invocations"]  # type: ignore[index]
    assert invocation["executionSuccessful"] is False
    assert invocation["toolExecutionNotifications"][0]["level"] == "error"
    clean = sarif()["runs"][0]["invocations"][0]  # type: ignore[index]
    assert clean == {"executionSuccessful": True}


def test_every_result_has_an_artifact_location_as_code_scanning_requires() -> None:
    # GitHub rejects the whole upload ("locationFromSarifResult: expected artifact location")
    # when a single result has no physicalLocation.artifactLocation.
    doc = sarif(
        finding("plan.replace", file=None, line=None),
        finding("plan.replace", file=None, line=None, address=None, message="Replaces it."),
        problems=("could not read the plan",),
    )
    results = doc["runs"][0]["results"]  # type: ignore[index]
    assert len(results) == 3
    for result in results:
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": ANCHOR, "uriBaseId": "%SRCROOT%"}
        assert "region" not in physical  # a line of the config file would be a lie
    assert results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == (
        "aws_db_instance.orders"
    )
    assert errors(SARIF, doc) == []


def test_problems_are_results_too_since_code_scanning_ignores_notifications() -> None:
    doc = sarif(finding(), problems=("the rule pack did not load", "a file was cut"))
    run = doc["runs"][0]  # type: ignore[index]
    problems = [r for r in run["results"] if r["ruleId"] == PROBLEM_RULE]
    assert [r["message"]["text"] for r in problems] == [
        "the rule pack did not load",
        "a file was cut",
    ]
    assert all(r["level"] == "error" for r in problems)
    assert PROBLEM_RULE in [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert [r["ruleId"] for r in sarif(finding())["runs"][0]["results"]] == [  # type: ignore[index]
        "terraform.delete"
    ]


def test_unknown_rule_still_gets_metadata() -> None:
    doc = render_sarif(Report(findings=(finding("custom.rule", severity="medium"),)))
    (rule,) = doc["runs"][0]["tool"]["driver"]["rules"]
    assert rule["defaultConfiguration"] == {"level": "warning"}
    assert errors(SARIF, doc) == []


def deleted_db(tmp_path: Path, comments: int) -> Path:
    """A diff deleting infra/db.tf, whose database sits below `comments` comment lines."""
    body = ["# note"] * comments + ['resource "aws_db_instance" "orders" {', '  engine = "pg"', "}"]
    diff = tmp_path / f"change-{comments}.diff"
    diff.write_text(
        "diff --git a/infra/db.tf b/infra/db.tf\n"
        "deleted file mode 100644\n"
        "--- a/infra/db.tf\n"
        "+++ /dev/null\n"
        f"@@ -1,{len(body)} +0,0 @@\n" + "".join(f"-{line}\n" for line in body)
    )
    return diff


def analyze_sarif(diff: Path) -> dict[str, Any]:
    from tests.cli.test_main import run

    proc = run("analyze", "--diff", str(diff), "--format", "sarif")
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def test_cli_analyze_writes_valid_sarif_with_fingerprints_that_survive_moves(
    tmp_path: Path,
) -> None:
    first = analyze_sarif(deleted_db(tmp_path, 0))
    assert errors(SARIF, first) == []
    results = first["runs"][0]["results"]
    assert results, "a deleted database must produce at least one result"
    assert all(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "infra/db.tf"
        for r in results
    )

    def by_print(doc: dict[str, Any]) -> dict[str, int | None]:
        return {
            r["partialFingerprints"][FINGERPRINT_KEY]: r["locations"][0]["physicalLocation"]
            .get("region", {})
            .get("startLine")
            for r in doc["runs"][0]["results"]
        }

    before, after = by_print(first), by_print(analyze_sarif(deleted_db(tmp_path, 5)))
    assert set(before) == set(after)  # the same alerts on the next push
    assert before != after  # though their lines moved
