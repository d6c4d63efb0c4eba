from app.core.report import Finding, Report
from app.github.checks import (
    REEVALUATE_ACTION,
    annotation_set,
    annotations_digest,
    completed_bodies,
    failure_body,
)


def test_annotations_are_batched_by_50_and_the_first_patch_completes() -> None:
    findings = tuple(
        Finding(rule="r", severity="medium", tier=1, file="a.tf", line=i + 1, message="m")
        for i in range(120)
    )
    bodies = completed_bodies(
        Report(findings=findings, tier=1), "action_required", enforced=True, details_url="https://x"
    )
    assert [len(b["output"].get("annotations", [])) for b in bodies] == [50, 50, 20]
    assert bodies[0]["conclusion"] == "action_required"
    assert bodies[0]["actions"] == [REEVALUATE_ACTION]
    assert all("conclusion" not in b for b in bodies[1:])


def test_no_annotations_still_one_body() -> None:
    bodies = completed_bodies(Report(tier=0), "success", enforced=True, details_url="https://x")
    assert len(bodies) == 1 and "annotations" not in bodies[0]["output"]


def test_failure_body_fails_closed() -> None:
    body = failure_body("boom", "https://x")
    assert body["conclusion"] == "failure" and "boom" in body["output"]["summary"]


def test_a_run_that_has_its_annotations_gets_none_again() -> None:
    finding = Finding(rule="r", severity="high", tier=2, file="a.tf", line=3, message="m")
    report = Report(findings=(finding, finding), tier=2)  # the same finding twice: one annotation
    assert len(annotation_set(report)) == 1
    again = completed_bodies(
        report, "action_required", enforced=True, details_url="https://x", with_annotations=False
    )
    assert len(again) == 1 and "annotations" not in again[0]["output"]
    assert again[0]["conclusion"] == "action_required"


def test_annotation_digest_ignores_order_and_sees_content() -> None:
    a = {
        "path": "a.tf",
        "start_line": 1,
        "end_line": 1,
        "annotation_level": "notice",
        "message": "x",
    }
    b = {**a, "start_line": 2, "end_line": 2}
    assert annotations_digest([a, b]) == annotations_digest([b, a])
    assert annotations_digest([a]) != annotations_digest([a, b])
    assert annotations_digest([a]) != annotations_digest([{**a, "message": "y"}])
