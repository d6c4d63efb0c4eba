"""Revert references from the words `git revert` and GitHub's Revert button write."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from app.agentops.reverts import RevertRefs, pull_key, revert_refs

GIT_REVERT = """Revert "Raise pro-monthly to 59 USD"

This reverts commit 8f3c2d1e9b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d.

Agent-Run-Id: run_rollback_7
"""
GIT_REVERT_MERGE = """Revert "Merge pull request #42 from acme/pricing-bot/raise-pro"

This reverts commit 1A2B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B, reversing
changes made to 0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e.
"""
GITHUB_REVERT_PR_BODY = "Reverts acme/platform#42"


def test_git_revert_names_the_reverted_commit() -> None:
    refs = revert_refs("acme/platform", ['Revert "Raise pro-monthly to 59 USD"', GIT_REVERT])
    assert refs.commits == ("8f3c2d1e9b7a6c5d4e3f2a1b0c9d8e7f6a5b4c3d",)
    assert refs.pulls == ()


def test_reverting_a_merge_names_the_merge_not_its_parent() -> None:
    refs = revert_refs("acme/platform", [GIT_REVERT_MERGE])
    assert refs.commits == ("1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b",)
    assert refs.names_commit("1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b")
    assert not refs.names_commit("0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e")


def test_github_revert_pr_names_the_pull_and_its_commit() -> None:
    title = 'Revert "Cut Pro to 29.40"'
    commit = 'Revert "Cut Pro to 29.40"\n\nThis reverts commit 5e1f3c2a.\n'
    refs = revert_refs("acme/platform", [title, GITHUB_REVERT_PR_BODY, commit])
    assert refs.pulls == (pull_key("acme/platform", 42),)
    assert refs.commits == ("5e1f3c2a",)
    assert refs.names_commit("5E1F3C2A9D0B1122334455667788990011223344")  # abbreviated


def test_short_form_uses_the_repository_and_prose_is_not_a_reference() -> None:
    refs = revert_refs(
        "Acme/Web", ["Reverts #7\n", "This reverts the font change in #9", "Reverts"]
    )
    assert refs.pulls == ("acme/web#7",)
    assert not revert_refs("acme/web", ["Partially reverts acme/web#3", "see commit abcdef1"])


def test_union_keeps_order_and_drops_duplicates() -> None:
    a = RevertRefs(commits=("abc1234",), pulls=("a/b#1",))
    b = RevertRefs(commits=("abc1234", "def5678"), pulls=("a/b#2",))
    assert a.union(b) == RevertRefs(commits=("abc1234", "def5678"), pulls=("a/b#1", "a/b#2"))


@given(st.lists(st.text(max_size=300), max_size=5))
def test_any_text_gives_well_formed_bounded_references(texts: list[str]) -> None:
    refs = revert_refs("acme/platform", texts)
    assert all(re.fullmatch(r"[0-9a-f]{7,40}", c) for c in refs.commits)
    assert all(re.fullmatch(r"[a-z0-9-]+/[a-z0-9._-]+#\d+", p) for p in refs.pulls)
    assert len(refs.commits) <= 50 and len(refs.pulls) <= 50
