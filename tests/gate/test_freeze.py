"""Change freezes, decided purely: what a window covers, exceptions and their content binding."""

from __future__ import annotations

from datetime import UTC, datetime

from app.config.repo import parse_repo_config
from app.core.models import Change
from app.core.report import Report
from app.gate.approval_scope import Directory
from app.gate.commands import Asker, FreezeException, Parties
from app.gate.freeze import ExceptionGrant, freeze_status, in_force, judge_exception
from app.gate.render.markdown import check_title, gate_conclusion, render_markdown

NOW = datetime(2026, 12, 24, 12, 0, tzinfo=UTC)
CONFIG = """\
freezes:
  - name: holidays
    start: "2026-12-20T00:00Z"
    end: "2027-01-02T00:00Z"
    paths: ["catalog/**"]
    exception_by: ["@acme/release"]
"""
FREEZES = parse_repo_config(CONFIG).freezes
PARTIES = Parties(author="bot[bot]", operator=None, agent_logins=frozenset())
DIRECTORY = Directory({"acme/release": ("rita",)})


def change(path: str = "catalog/plans.json", price: float = 29.0) -> Change:
    return Change(file=path, kind="pricing", address="plan:pro", op="update", facts={"p": price})


def test_a_window_covers_only_its_paths_and_only_while_in_force() -> None:
    assert in_force(FREEZES, [change("docs/x.md")], NOW) is None
    assert in_force(FREEZES, [change()], datetime(2027, 1, 2, tzinfo=UTC)) is None
    frozen = in_force(FREEZES, [change()], NOW)
    assert frozen is not None and frozen.names == "holidays"
    status = freeze_status(frozen, (), [change()], "h1")
    assert status is not None and status.until == "2027-01-02T00:00:00Z"
    report = Report(tier=0, approvals={"satisfied": True}, freeze=status)  # type: ignore[arg-type]
    assert gate_conclusion(report) == "action_required"
    assert check_title(report, "action_required") == (
        "Frozen until 2027-01-02T00:00:00Z (holidays)"
    )
    assert "`/countersign freeze-exception reason: …` by a member of @\u200bacme/release" in (
        render_markdown(report)
    )


def test_an_exception_by_a_member_lifts_it_for_the_same_content_only() -> None:
    frozen = in_force(FREEZES, [change()], NOW)
    status = freeze_status(frozen, (), [change()], "h1")
    grant = judge_exception(
        FreezeException("hotfix INC-9"),
        Asker("rita", False, PARTIES, DIRECTORY, NOW),
        freeze=status,
        changes=[change()],
        head_sha="h1",
    )
    assert isinstance(grant, ExceptionGrant)
    lifted = freeze_status(frozen, [grant], [change()], "h2")  # a new head, same content
    assert lifted is not None and lifted.exception == "rita: hotfix INC-9"
    report = Report(tier=0, approvals={"satisfied": True}, freeze=lifted)  # type: ignore[arg-type]
    assert gate_conclusion(report) == "success"
    changed = freeze_status(frozen, [grant], [change(price=19.0)], "h3")
    assert changed is not None and changed.exception is None
    assert "the changes differ since" in changed.refused[0]


def test_non_members_the_author_and_a_thawed_pr_are_refused() -> None:
    frozen = in_force(FREEZES, [change()], NOW)
    status = freeze_status(frozen, (), [change()], "h1")

    parties = Parties(author="amy", operator=None, agent_logins=frozenset())
    directory = Directory({"acme/release": ("rita", "amy")})

    def judge(login: str, now: datetime = NOW) -> object:
        return judge_exception(
            FreezeException("r"),
            Asker(login, False, parties, directory, now),
            freeze=status,
            changes=[change()],
            head_sha="h1",
        )

    assert "dave is not a member of @acme/release" in str(judge("dave"))
    assert "amy is the PR author" in str(judge("amy"))
    assert "nothing to except" in str(judge("rita", datetime(2027, 1, 3, tzinfo=UTC)))
