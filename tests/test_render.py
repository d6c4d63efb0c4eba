from app.models import Change, FieldChange
from app.render import (
    CHECK_SUMMARY_LIMIT,
    annotations_for,
    check_title,
    conclusion_for,
    esc,
    render_markdown,
)
from app.report import (
    AgentInfo,
    ApprovalRecord,
    ApprovalStatus,
    Finding,
    PolicyResult,
    Report,
    Risk,
)


def finding(i: int = 0, severity: str = "high", tier: int = 2) -> Finding:
    return Finding(
        rule="terraform.delete",
        severity=severity,  # type: ignore[arg-type]
        tier=tier,
        file="infra/db.tf",
        line=10 + i,
        address=f"aws_db_instance.db{i}",
        message="Deletes a database.",
    )


def report(**kw: object) -> Report:
    base = {
        "changes": (
            Change(
                file="infra/db.tf", kind="terraform", address="aws_db_instance.main", op="delete"
            ),
        ),
        "findings": (finding(),),
        "risk": Risk(level="high", score=70),
        "tier": 2,
        "approvals": ApprovalStatus(
            required=("2 distinct approvals", "@acme/finance (pricing)"),
            satisfied=False,
            missing=("@acme/finance",),
            approvals=(ApprovalRecord(login="alice", commit="abc1234"),),
        ),
        "agent": AgentInfo(id="infra-bot", run_id="run_1", author="infra-bot[bot]", is_agent=True),
        "policy_version": "f" * 64,
    }
    base.update(kw)
    return Report(**base)  # type: ignore[arg-type]


def test_conclusions_fail_closed() -> None:
    assert conclusion_for(report()) == "action_required"
    assert conclusion_for(report(approvals=ApprovalStatus(satisfied=True))) == "success"
    assert (
        conclusion_for(
            report(problems=("missing run id",), approvals=ApprovalStatus(satisfied=True))
        )
        == "failure"
    )
    assert (
        conclusion_for(report(tier="blocked", approvals=ApprovalStatus(satisfied=True)))
        == "failure"
    )
    denied = PolicyResult(decision="deny", reasons=("no-governance",))
    assert (
        conclusion_for(report(policy=denied, approvals=ApprovalStatus(satisfied=True))) == "failure"
    )
    assert conclusion_for(report(tier=None, approvals=ApprovalStatus(satisfied=True))) == "failure"
    # Not enforced (a human's PR under enforce_for: agents) is informational, but problems still fail.
    assert conclusion_for(report(), enforced=False) == "success"
    assert conclusion_for(report(problems=("invalid config",)), enforced=False) == "failure"


def test_title_names_missing_approvers() -> None:
    r = report()
    title = check_title(r, conclusion_for(r))
    assert title.startswith("Tier 2 · high · 1 of 2 approvals")
    assert "(needs @acme/finance)" in title
    assert check_title(
        report(problems=("agent change without an Agent-Run-Id",)), "failure"
    ).startswith("Failed: agent change")


def test_pr_controlled_strings_are_escaped() -> None:
    evil = "x|y`<script>alert(1)</script>\n## injected"
    r = report(changes=(Change(file=evil, kind="text", address=evil, op="update"),))
    text = render_markdown(r)
    assert "<script>" not in text
    assert "\n## injected" not in text
    assert "x\\|y" in text
    assert esc("@acme/team") != "@acme/team"  # no accidental mentions from PR content


def test_summary_stays_under_githubs_limit() -> None:
    changes = tuple(
        Change(
            file=f"catalog/plans-{i}.json",
            kind="pricing",
            address=f"sku:plan-{i}",
            op="update",
            fields=(FieldChange(path="price", before=i, after=i + 1),),
            facts={"price_before": str(i), "price_after": str(i + 1), "price_delta_pct": 1.5},
        )
        for i in range(20_000)
    )
    findings = tuple(finding(i) for i in range(3_000))
    text = render_markdown(report(changes=changes, findings=findings))
    assert len(text) <= CHECK_SUMMARY_LIMIT
    assert "more changes not shown" in text
    assert "#### Approvals" in text  # structure kept, rows dropped


def test_annotations_only_for_located_findings() -> None:
    r = report(findings=(finding(), Finding(rule="x", severity="info", tier=0, message="m")))
    notes = annotations_for(r)
    assert len(notes) == 1
    assert notes[0]["annotation_level"] == "failure"
    assert notes[0]["start_line"] == 10
