"""The proposer stage on its own: every identity signal, pure (no GitHub)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.agents import AgentRegistry
from app.config.repo import RepoConfig, parse_repo_config
from app.core.snapshot import Commit, GitIdentity, PullRequestSnapshot
from app.gate.proposer import identify_proposer
from app.gate.trailers import co_authors

REGISTRY = AgentRegistry.load(Path(__file__).resolve().parents[2] / "policies")
HUMAN = GitIdentity(name="Alice Example", email="alice@acme.example")
COPILOT = GitIdentity(
    name="copilot-swe-agent[bot]", email="198982749+Copilot@users.noreply.github.com"
)


def snap(
    *commits: Commit, author: str = "alice", body: str = "", head_ref: str = ""
) -> PullRequestSnapshot:
    return PullRequestSnapshot(
        repo="acme/shop", author=author, body=body, head_ref=head_ref, commits=commits
    )


def test_human_pr_with_linked_human_commit_is_not_an_agent_change() -> None:
    p = identify_proposer(
        snap(Commit(sha="a" * 40, author_login="alice", committer_login="alice", author=HUMAN)),
        REGISTRY,
        RepoConfig(),
    )
    assert not p.is_agent and not p.unknown and not p.enforce_unknown


def test_unlinked_unknown_author_is_enforced_and_named() -> None:
    stranger = GitIdentity(name="runner", email="runner@ci-box-17.internal")
    commit = Commit(sha="b" * 40, message="drop db", author=stranger, committer=stranger)
    p = identify_proposer(snap(commit), REGISTRY, RepoConfig())
    assert not p.is_agent and p.enforce_unknown
    assert p.unknown[0].startswith("commit bbbbbbb: author runner <runner@ci-box-17.internal>")
    ignored = identify_proposer(
        snap(commit), REGISTRY, parse_repo_config(b"unknown_authors: ignore\n")
    )
    assert ignored.unknown and not ignored.enforce_unknown


def test_unlinked_registered_email_is_that_agent() -> None:
    ident = GitIdentity(name="whatever", email="Codex@agents.acme.example")
    p = identify_proposer(
        snap(Commit(sha="c" * 40, author=ident, committer=ident)), REGISTRY, RepoConfig()
    )
    assert p.is_agent and p.agent is not None and p.agent.id == "codex-ci" and not p.unknown


@pytest.mark.parametrize(
    ("email", "agent_id", "bot"),
    [
        ("41898282+infra-bot[bot]@users.noreply.github.com", "infra-bot", None),
        ("12345+stranger-bot[bot]@users.noreply.github.com", None, "stranger-bot[bot]"),
    ],
)
def test_noreply_bot_email_is_that_bot(email: str, agent_id: str | None, bot: str | None) -> None:
    ident = GitIdentity(name="x", email=email)
    p = identify_proposer(
        snap(Commit(sha="d" * 40, author=ident, committer=ident)), REGISTRY, RepoConfig()
    )
    assert p.is_agent and not p.unknown
    assert p.agent_id == (agent_id or bot)


def test_co_authored_by_agent_makes_an_agent_change() -> None:
    message = (
        "Tidy\n\nCo-authored-by: infra-bot[bot] <41898282+infra-bot[bot]@users.noreply.github.com>"
    )
    commit = Commit(
        sha="e" * 40,
        message=message,
        author_login="alice",
        committer_login="alice",
        author=HUMAN,
        co_authors=tuple(GitIdentity(name=n, email=e) for n, e in co_authors(message)),
    )
    p = identify_proposer(snap(commit), REGISTRY, RepoConfig())
    assert p.is_agent and p.agent_id == "infra-bot"
    assert any("co-author" in e for e in p.evidence)


def test_copilot_pr_operator_is_the_human_co_author() -> None:
    message = (
        "Update docs\n\nCo-authored-by: copilot-swe-agent[bot] <198982749+Copilot@users.noreply.github.com>\n"
        "Co-authored-by: bob <4242+bob@users.noreply.github.com>"
    )
    commit = Commit(
        sha="f" * 40,
        message=message + "\nAgent-Run-Id: run_cp1",
        author_login="Copilot",
        committer_login="web-flow",
        author=COPILOT,
        co_authors=tuple(GitIdentity(name=n, email=e) for n, e in co_authors(message)),
    )
    p = identify_proposer(
        snap(commit, author="Copilot", head_ref="copilot/fix-docs"), REGISTRY, RepoConfig()
    )
    assert p.is_agent and p.agent_id == "copilot"
    assert p.operators == ("bob",) and p.run.operator == "bob"
    assert p.run.run_id == "run_cp1"


def test_branch_prefix_alone_makes_an_agent_change() -> None:
    p = identify_proposer(snap(author="acme-human", head_ref="copilot/x"), REGISTRY, RepoConfig())
    assert p.is_agent and p.agent_id == "copilot"
    assert p.problems  # and it needs a run ID


def test_run_id_from_a_registered_session_link() -> None:
    body = "Done.\n\nTask: https://chatgpt.com/codex/tasks/task_e_68a1b2c3."
    p = identify_proposer(snap(author="acme-codex", body=body), REGISTRY, RepoConfig())
    assert p.run.run_id == "task_e_68a1b2c3"
    assert p.run.run_url == "https://chatgpt.com/codex/tasks/task_e_68a1b2c3"
    assert not p.problems


def test_git_snapshots_never_report_unknown_authors() -> None:
    stranger = GitIdentity(name="me", email="me@laptop")
    snapshot = snap(Commit(sha="1" * 40, author=stranger, committer=stranger)).model_copy(
        update={"linked_accounts": False}
    )
    assert not identify_proposer(snapshot, REGISTRY, RepoConfig()).unknown


TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_agent_trace_parent_survives_a_run_id_from_a_session_link() -> None:
    body = (
        "Done.\n\nTask: https://chatgpt.com/codex/tasks/task_e_68a1b2c3.\n"
        f"Agent-Trace-Parent: {TRACE}"
    )
    p = identify_proposer(snap(author="acme-codex", body=body), REGISTRY, RepoConfig())
    # The trailer block is the last paragraph; its `Task:` line is a trailer too.
    assert p.run.run_id == "task_e_68a1b2c3"
    assert p.run.trace_parent == TRACE
    assert not p.problems


def test_human_pr_trace_parent_is_ignored_with_a_note() -> None:
    p = identify_proposer(
        snap(body=f"Manual fix.\n\nAgent-Trace-Parent: {TRACE}"), REGISTRY, RepoConfig()
    )
    assert not p.is_agent
    assert p.run.trace_parent is None
    assert p.run.notes == ("Agent-Trace-Parent ignored: not an agent change",)
    assert not p.problems


def test_unregistered_bot_without_run_id_is_told_the_registry_entry_to_add() -> None:
    """Issue #24: release bots block on a missing run ID; the check says what to declare."""
    ident = GitIdentity(
        name="release-please[bot]", email="55107282+release-please[bot]@users.noreply.github.com"
    )
    commit = Commit(
        sha="1" * 40, message="chore(main): release 1.2.0", author=ident, committer=ident
    )
    p = identify_proposer(snap(commit, author="release-please[bot]"), REGISTRY, RepoConfig())
    (problem,) = p.problems
    assert "release-please[bot] is not in policies/agents.yaml" in problem
    entry = '- {id: release-please, logins: ["release-please[bot]"], automation: true'
    assert entry in problem


def test_registered_automation_needs_no_run_id_but_is_still_gated() -> None:
    p = identify_proposer(snap(author="renovate[bot]"), REGISTRY, RepoConfig())
    assert p.is_agent and p.agent is not None and p.agent.automation
    assert p.problems == ()
    # An AI agent in the same PR still owes a run ID.
    both = identify_proposer(
        snap(author="renovate[bot]", head_ref="copilot/bump"), REGISTRY, RepoConfig()
    )
    assert both.problems
