from app.github.checks import REEVALUATE_ACTION, completed_bodies, failure_body
from app.report import Finding, Report


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
