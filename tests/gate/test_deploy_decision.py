"""The deployment decision, table-driven: facts in, approved or rejected with reasons out."""

from __future__ import annotations

import pytest

from app.config.deploy import DeployConfig, EnvironmentRule
from app.config.repo import parse_repo_config
from app.core.errors import ConfigError
from app.gate.deploy_decision import (
    MAX_COMMENT,
    DeploymentFacts,
    RecordedMerge,
    decide_deployment,
    first_parent_chain,
)

STRICT = EnvironmentRule()


def sha(n: int) -> str:
    return f"{n:040x}"


def merge(n: int, **kw: object) -> RecordedMerge:
    fields: dict[str, object] = {
        "merge_commit_sha": sha(n),
        "pr": n,
        "seq": 10 + n,
        "bypass": False,
    }
    fields.update(kw)
    return RecordedMerge(**fields)  # type: ignore[arg-type]


def facts(commits: list[int], merges: list[RecordedMerge], **kw: object) -> DeploymentFacts:
    fields: dict[str, object] = {
        "environment": "production",
        "sha": sha(commits[0]) if commits else sha(99),
        "workflow_run_id": 7,
        "default_branch": "main",
        "on_default_branch": True,
        "since_sha": sha(0),
        "commits": tuple(sha(c) for c in commits),
        "merges": {m.merge_commit_sha: m for m in merges},
    }
    fields.update(kw)
    return DeploymentFacts(**fields)  # type: ignore[arg-type]


def test_merges_the_gate_allowed_are_approved_oldest_first() -> None:
    decision = decide_deployment(facts([3, 2, 1], [merge(1), merge(2), merge(3)]), STRICT)
    assert decision.approved and decision.state == "approved"
    assert [m.pr for m in decision.merges] == [1, 2, 3]
    assert {m.state for m in decision.merges} == {"allowed"}
    assert decision.comment().startswith("Countersign approved: ")
    assert "3 merge(s) since 0000000" in decision.comment()


@pytest.mark.parametrize(
    ("merges", "rule", "expected"),
    [
        ([merge(1, bypass=True)], STRICT, "bypass merge(s) #1 still need post-review"),
        (
            [merge(1, agent_id="pricing-bot", run_id=None)],
            STRICT,
            "agent merge(s) #1 carry no run ID",
        ),
        ([], STRICT, f"direct push without a pull request: {sha(1)[:7]}"),
        (
            [merge(1)],
            EnvironmentRule(require_plan=True),
            "require_plan is set for production: no apply plan was compared",
        ),
    ],
)
def test_each_rule_rejects_and_says_why(
    merges: list[RecordedMerge], rule: EnvironmentRule, expected: str
) -> None:
    decision = decide_deployment(facts([1], merges), rule)
    assert not decision.approved
    assert expected in decision.comment()
    assert decision.comment().startswith("Countersign rejected: ")


def test_a_reviewed_bypass_and_allowed_pushes_pass_where_the_environment_says_so() -> None:
    lenient = EnvironmentRule(allow_direct_pushes=True, require_run_id=False)
    decision = decide_deployment(
        facts([3, 2, 1], [merge(1, bypass=True, post_reviewed=True), merge(3, agent_id="a")]),
        lenient,
    )
    assert decision.approved
    assert [(m.pr, m.state) for m in decision.merges] == [(1, "reviewed"), (3, "allowed")]
    assert decision.direct_pushes == (sha(2),)
    assert "direct pushes allowed here" in decision.comment()


def test_a_sha_off_the_default_branch_is_rejected_before_anything_else() -> None:
    decision = decide_deployment(facts([1], [merge(1)], on_default_branch=False), STRICT)
    assert not decision.approved
    assert decision.problems == (f"{sha(1)[:7]} is not on the default branch main",)


def test_many_problems_are_named_briefly_within_github_s_comment_length() -> None:
    commits = list(range(300, 0, -1))
    decision = decide_deployment(facts(commits, []), STRICT)
    assert "and 295 more" in decision.comment()
    assert len(decision.comment()) <= MAX_COMMENT


def test_first_parent_chain_stops_at_the_last_deployment_and_skips_pr_commits() -> None:
    # main: 0 ← m1 (merge of p1) ← d2 (direct push) ← m3 (merge of p3, whose parent p2 ← 0)
    parents = {
        "m1": ("0", "p1"),
        "p1": ("0",),
        "d2": ("m1",),
        "m3": ("d2", "p3"),
        "p3": ("p2",),
        "p2": ("0",),
    }
    assert first_parent_chain("m3", parents, "0") == ("m3", "d2", "m1")
    assert first_parent_chain("m3", parents, None) == ("m3",)
    assert first_parent_chain("0", {}, "0") == ()


def test_the_config_names_environments_case_insensitively_and_refuses_unknown_keys() -> None:
    config = parse_repo_config("deploy:\n  environments:\n    Production: {require_plan: true}\n")
    rule = config.deploy.rule_for("production")
    assert rule is not None and rule.require_plan and not rule.allow_direct_pushes
    assert config.deploy.rule_for("staging") is None
    assert DeployConfig().rule_for("production") is None
    with pytest.raises(ConfigError, match=r"countersign.yml:3: deploy.environments.prod"):
        parse_repo_config("deploy:\n  environments:\n    prod: {allow_pushes: true}\n")


def test_commits_a_recorded_rebase_merge_wrote_are_covered_by_it() -> None:
    """ "Rebase and merge" writes one commit per PR commit; only the last is the merge commit.
    The ones just before it, which GitHub associates with the same PR, are covered by it."""
    rebased = {sha(2): sha(4), sha(3): sha(4)}
    decision = decide_deployment(facts([4, 3, 2, 1], [merge(1), merge(4)], rebased=rebased), STRICT)
    assert decision.approved, decision.problems
    assert [m.pr for m in decision.merges] == [1, 4]
    assert decision.rebased == (sha(2), sha(3)) and decision.direct_pushes == ()
    assert "2 commit(s) written by a rebase merge" in decision.comment()


@pytest.mark.parametrize(
    ("commits", "merges", "rebased", "pushes"),
    [
        # deployed without its merge commit: the PR is only partly on the branch
        ([3, 2, 1], [1], {2: 4, 3: 4}, [2, 3]),
        # the merge commit it names is not recorded (or not a merge the gate saw)
        ([4, 3, 2], [2], {3: 4}, [3, 4]),
        # separated from its merge commit by a direct push
        ([4, 3, 2, 1], [1, 4], {2: 4}, [2, 3]),
        # associated with a different merge than the one after it
        ([4, 3, 1], [1, 4], {3: 9}, [3]),
        # the merge commit is older than the commit (not written by its rebase)
        ([3, 2, 1], [1, 2], {3: 2}, [3]),
    ],
)
def test_other_commits_a_pr_is_associated_with_stay_direct_pushes(
    commits: list[int], merges: list[int], rebased: dict[int, int], pushes: list[int]
) -> None:
    told = {sha(c): sha(m) for c, m in rebased.items()}
    decision = decide_deployment(facts(commits, [merge(m) for m in merges], rebased=told), STRICT)
    assert not decision.approved and decision.rebased == ()
    assert decision.direct_pushes == tuple(sha(p) for p in pushes)
