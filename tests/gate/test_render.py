import re

from app.core.models import Change, FieldChange
from app.core.report import (
    AgentInfo,
    ApprovalRecord,
    ApprovalStatus,
    BreakGlass,
    Finding,
    PolicyResult,
    Report,
    Risk,
    ScopeChange,
    VoidedApproval,
)
from app.gate.render.escape import esc
from app.gate.render.markdown import (
    CHECK_SUMMARY_LIMIT,
    annotations_for,
    check_title,
    conclusion_for,
    render_markdown,
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


def runbook_pr() -> Report:
    """A production database delete alongside 30 runbook edits (a realistic agent PR)."""
    runbooks = [f"docs/runbooks/{name:02d}-restart.md" for name in range(30)]
    changes = (
        *(
            Change(file=path, kind="text", address=path, op="update", facts={"lines_added": 3})
            for path in runbooks
        ),
        Change(
            file="infra/prod/db.tf",
            kind="terraform",
            address="aws_db_instance.main",
            op="delete",
            line=12,
            facts={"resource_type": "aws_db_instance", "environment": "production"},
        ),
    )
    findings = (
        *(
            Finding(
                rule="text.changed",
                severity="info",
                tier=0,
                file=path,
                line=1,
                address=path,
                message="Free text changed.",
            )
            for path in runbooks
        ),
        Finding(
            rule="terraform.delete-stateful",
            severity="critical",
            tier=3,
            file="infra/prod/db.tf",
            line=12,
            address="aws_db_instance.main",
            message="Deletes a stateful production resource (aws_db_instance.main).",
        ),
    )
    return report(changes=changes, findings=findings, tier=3)


def test_critical_delete_comes_before_thirty_runbook_edits() -> None:
    text = render_markdown(runbook_pr())
    critical = text.index("terraform.delete-stateful")
    first_info = text.index("text.changed")
    first_runbook_row = text.index("| docs/runbooks/00-restart.md |")
    delete_row = text.index(
        "| infra/prod/db.tf | terraform | aws\\_db\\_instance.main | **delete**"
    )
    assert critical < first_info  # severity order, not file order
    assert delete_row < first_runbook_row  # destructive rows head the table
    # The 30 info findings and the 30 routine rows are folded, closed by default.
    details = text.index("<details><summary>30 info findings</summary>")
    assert critical < details < first_info < text.index("</details>", details)
    rows = text.index("<details><summary>30 changes without a risk finding</summary>")
    assert delete_row < rows < first_runbook_row
    assert text.count("<details>") == text.count("</details>") == 2
    assert "open" not in text.split("<details", 1)[1].split(">", 1)[0]


def test_findings_order_by_severity_then_file_and_line() -> None:
    findings = (
        Finding(rule="b.low", severity="low", tier=1, file="a.tf", line=1, message="m"),
        Finding(rule="c.high", severity="high", tier=2, file="z.tf", line=9, message="m"),
        Finding(rule="d.high", severity="high", tier=2, file="b.tf", line=3, message="m"),
        Finding(rule="a.crit", severity="critical", tier=3, file="y.tf", line=2, message="m"),
    )
    text = render_markdown(report(findings=findings))
    positions = [text.index(f"`{rule}`") for rule in ("a.crit", "d.high", "c.high", "b.low")]
    assert positions == sorted(positions)


def test_access_and_price_rows_lead_the_table() -> None:
    changes = (
        Change(file="a/notes.yaml", kind="data", address="owner", op="update"),
        Change(
            file="catalog/plans.json",
            kind="pricing",
            address="sku:pro",
            op="update",
            facts={"price_before": "49", "price_after": "4.9", "price_delta_pct": -90.0},
        ),
        Change(
            file=".github/workflows/ci.yml",
            kind="workflow",
            address="jobs.deploy",
            op="update",
            fields=(FieldChange(path="permissions.contents", before="read", after="write"),),
        ),
        Change(file="infra/cache.tf", kind="terraform", address="aws_s3_bucket.x", op="delete"),
    )
    text = render_markdown(report(changes=changes, findings=()))
    order = [
        text.index(s)
        for s in ("infra/cache.tf", ".github/workflows/ci.yml", "catalog/plans.json", "a/notes")
    ]
    assert order == sorted(order)
    assert "| update | price 49 → 4.9 (-90.0%) |" in text
    assert "| update | **access**: permissions.contents: read → write |" in text
    # The routine row is folded.
    assert text.index("<details><summary>1 changes without a risk finding") < order[-1]


def test_voided_approval_says_whose_and_what_changed_in_their_scope() -> None:
    from app.core.report import ScopeChange, VoidedApproval

    voided = VoidedApproval(
        login="carol",
        commit="c0ffee1234567",
        reason="approved c0ffee1; changes in their scope since then",
        changes=(
            ScopeChange(
                file="infra/prod/db.tf",
                kind="terraform",
                address="aws_db_instance.main",
                before="update",
                after="delete",
            ),
            ScopeChange(
                file="infra/prod/net.tf", kind="terraform", address="aws_vpc.main", after="update"
            ),
        ),
    )
    status = ApprovalStatus(
        required=("2 distinct approvals",),
        missing=("2 distinct approvals",),
        ignored=(f"carol: {voided.reason}", "dave: PR author"),
        voided=(voided,),
    )
    text = render_markdown(report(approvals=status))
    section = text.split("#### Approvals voided by a push", 1)[1].split("####", 1)[0]
    assert "**carol** approved `c0ffee1`" in section
    assert "infra/prod/db.tf aws\\_db\\_instance.main (terraform): update → delete" in section
    assert "infra/prod/net.tf aws\\_vpc.main (terraform): new since their approval (update)" in (
        section
    )
    assert text.index("#### Approvals voided") < text.index("#### Findings")
    assert "ignored: carol" not in text  # said once, in its own section
    assert "- ignored: dave: PR author" in text


def test_cut_to_the_limit_keeps_the_critical_lines_and_says_what_was_cut() -> None:
    base = runbook_pr()
    bulky = tuple(
        Change(file=f"docs/kb/{i:05d}.md", kind="text", address=f"docs/kb/{i:05d}.md", op="update")
        for i in range(4_000)
    )
    infos = tuple(
        Finding(rule="text.changed", severity="info", tier=0, file=c.file, line=1, message="x" * 80)
        for c in bulky
    )
    r = report(changes=base.changes + bulky, findings=base.findings + infos, tier=3)
    text = render_markdown(r)
    assert len(text) <= CHECK_SUMMARY_LIMIT
    assert "terraform.delete-stateful" in text
    assert "| infra/prod/db.tf | terraform |" in text
    assert "#### Approvals" in text
    # The folded parts were cut (and say so); the destructive row was not.
    assert "more changes not shown (cut to fit GitHub's 65,535-character limit" in text
    assert text.count("</details>") == 2


EVIL_MD = "[pwn](https://evil.example) ![i](https://evil.example/i.png) <img src=x> *b* _i_"


def _unescaped_markup(line: str) -> list[str]:
    """Markdown/HTML that a line would render: unescaped brackets, emphasis, or raw tags."""
    return re.findall(r"(?<!\\)[\[\]*_]|<(?!/?sub>)", line)


def test_pr_controlled_text_in_the_heading_is_escaped() -> None:
    from app.gate.trailers import collect_run_info

    run = collect_run_info([("PR body", f"Fix.\n\nAgent-Run-Id: {EVIL_MD}")])
    assert run.problems  # the trailer message quotes the value
    for r in (
        report(problems=run.problems),
        report(policy=PolicyResult(decision="deny", reasons=(EVIL_MD,))),
        report(
            approvals=ApprovalStatus(satisfied=True),
            break_glass=BreakGlass(
                label="break-glass", active=True, head_sha="a" * 40, by=EVIL_MD, reason=EVIL_MD
            ),
        ),
        report(approvals=ApprovalStatus(missing=(EVIL_MD,), blocking=(EVIL_MD,))),
    ):
        heading = render_markdown(r).splitlines()[0]
        assert heading.startswith("### Countersign: ")
        assert not _unescaped_markup(heading.removeprefix("### Countersign: ")), heading
        assert "](" not in heading.replace("\\](", "")


def test_voided_scope_values_are_escaped() -> None:
    voided = VoidedApproval(
        login="alice",
        commit="abc1234",
        reason="in-scope change",
        changes=(
            ScopeChange(
                file="a.json", address="sku:x", kind="pricing", before=EVIL_MD, after=EVIL_MD + "!"
            ),
        ),
    )
    text = render_markdown(report(approvals=ApprovalStatus(voided=(voided,))))
    line = next(ln for ln in text.splitlines() if ln.startswith("  - a.json"))
    assert not _unescaped_markup(line), line
