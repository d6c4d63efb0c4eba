"""CODEOWNERS resolution: GitHub's last-match-wins, unowned patterns, comments, malformed lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.gate.owners import MAX_CODEOWNERS_BYTES, CodeOwnersMap, is_owner_handle

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "owners"


@pytest.fixture(scope="module")
def owners() -> CodeOwnersMap:
    return CodeOwnersMap.parse((FIXTURES / "CODEOWNERS").read_text(), source=".github/CODEOWNERS")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("infra/staging/app.tf", ("@acme/platform",)),
        # last match wins: /infra/prod/ comes after /infra/
        ("infra/prod/db.tf", ("@acme/platform", "@acme/sre")),
        ("infra/modules/network/vpc.tf", ("@acme/network",)),
        ("catalog/plans.json", ("@acme/finance",)),
        # a pattern with no owners makes its files unowned, even below an owned folder
        ("catalog/experimental/trial-plans.json", ()),
        ("tariffs/eu-zones.csv", ("@acme/finance", "billing-leads@acme.example")),
        # `/tariffs/*.csv` does not reach into sub-folders
        ("tariffs/archive/2023.csv", ()),
        ("docs/runbooks/db-failover.md", ("@dana",)),
        ("services/billing/README.md", ("@dana",)),
        (".github/workflows/deploy.yml", ("@acme/security",)),
        ("CODEOWNERS", ("@acme/security",)),
        ("scripts/backfill.sql", ()),
        # leading slash tolerated
        ("/catalog/plans.json", ("@acme/finance",)),
    ],
)
def test_owners_for_follows_github_semantics(
    owners: CodeOwnersMap, path: str, expected: tuple[str, ...]
) -> None:
    assert owners.owners_for(path) == expected


def test_valid_fixture_has_no_problems(owners: CodeOwnersMap) -> None:
    assert owners.problems == ()
    assert owners.has_rules


def test_inline_comment_is_not_an_owner(owners: CodeOwnersMap) -> None:
    # line 6 ends with "# prod: platform or SRE (ask @carol if unsure)"
    assert "@carol" not in owners.owners_for("infra/prod/db.tf")
    assert owners.rule_line("infra/prod/db.tf") == 6


def test_rule_line_unmatched_is_none(owners: CodeOwnersMap) -> None:
    assert owners.rule_line("scripts/backfill.sql") is None
    assert owners.rule_line("catalog/experimental/x.json") == 12


def test_malformed_lines_reported_with_line_numbers() -> None:
    owners = CodeOwnersMap.parse((FIXTURES / "CODEOWNERS.malformed").read_text())
    found = [(p.line, p.message) for p in owners.problems]
    assert [line for line, _ in found] == [4, 5, 6, 7, 8, 9]
    messages = dict(found)
    assert "'acme/sre' is not `@user`, `@org/team` or an email" in messages[4]
    assert "starts with an owner" in messages[5]
    assert "negation" in messages[6]
    assert "character ranges" in messages[7]
    assert "GitLab" in messages[8]
    assert "'@@dana'" in messages[9]
    assert all(p.file == "CODEOWNERS" for p in owners.problems)
    assert str(owners.problems[0]).startswith("CODEOWNERS:4: owner 'acme/sre'")


def test_malformed_lines_are_skipped_like_github_does() -> None:
    owners = CodeOwnersMap.parse((FIXTURES / "CODEOWNERS.malformed").read_text())
    # the bad /infra/prod/ line is ignored, so the earlier /infra/ rule decides
    assert owners.owners_for("infra/prod/db.tf") == ("@acme/platform",)
    assert owners.owners_for("docs/index.md") == ("@acme/eng",)
    # valid lines around the bad ones still apply
    assert owners.owners_for("scripts/load.py") == ("@acme/data", "@erin")
    assert owners.owners_for("src/my app/main.ts") == ("@acme/frontend",)


def test_absent_codeowners_owns_nothing() -> None:
    owners = CodeOwnersMap.parse(None)
    assert owners.owners_for("infra/prod/db.tf") == ()
    assert owners.problems == ()
    assert not owners.has_rules


def test_bytes_with_bom_are_decoded() -> None:
    owners = CodeOwnersMap.parse(b"\xef\xbb\xbf/infra/ @acme/platform\n")
    assert owners.owners_for("infra/a.tf") == ("@acme/platform",)


def test_invalid_utf8_is_a_problem_not_a_crash() -> None:
    owners = CodeOwnersMap.parse(b"/infra/ @acme/platform \xff\xfe\n", source="docs/CODEOWNERS")
    assert owners.owners_for("infra/a.tf") == ()
    assert len(owners.problems) == 1
    assert str(owners.problems[0]).startswith("docs/CODEOWNERS:1: not UTF-8")


def test_oversized_file_is_ignored_with_a_problem() -> None:
    text = "/infra/ @acme/platform\n" + "# padding\n" * (MAX_CODEOWNERS_BYTES // 10 + 1)
    owners = CodeOwnersMap.parse(text)
    assert owners.owners_for("infra/a.tf") == ()
    assert "larger than 3 MB" in owners.problems[0].message


def test_duplicate_owners_on_a_line_collapse() -> None:
    owners = CodeOwnersMap.parse("*.tf @alice @acme/platform @alice\n")
    assert owners.owners_for("main.tf") == ("@alice", "@acme/platform")


@pytest.mark.parametrize(
    ("owner", "valid"),
    [
        ("@alice", True),
        ("@acme/platform-team", True),
        ("@acme/team.with.dots", True),
        ("ops@acme.example", True),
        ("acme/sre", False),
        ("@@dana", False),
        ("@", False),
        ("@acme/", False),
        ("alice", False),
    ],
)
def test_owner_handle_forms(owner: str, valid: bool) -> None:
    assert is_owner_handle(owner) is valid


@given(st.text(alphabet=st.sampled_from(list("/*?![]\\ #@a.b\n\t-_\r")), max_size=300))
def test_parse_never_crashes_and_problems_point_at_real_lines(text: str) -> None:
    owners = CodeOwnersMap.parse(text)
    lines = len(text.splitlines())
    for problem in owners.problems:
        assert 1 <= problem.line <= max(lines, 1)
    for path in ("a", "a/b.c", "@a/b"):
        assert all(is_owner_handle(o) for o in owners.owners_for(path))
