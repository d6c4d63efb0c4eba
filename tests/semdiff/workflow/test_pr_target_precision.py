"""`workflow.pull-request-target` on routine edits of jobs that run no pull request code (#24)."""

from __future__ import annotations

from pathlib import Path

from app.config.repo import RepoConfig
from app.core.models import FileDiff
from app.risk import evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

PACK = load_rule_pack(Path(__file__).resolve().parents[3] / "risk_rules")

# The shape of a triage workflow as many repositories ship it (labeler on pull_request_target).
LABEL = """name: Pull request labeler
on:
  pull_request_target:
    types: [opened, synchronize]
%s
permissions:
  contents: read
  pull-requests: write
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/labeler@%s
        with:
          sync-labels: true
  preview:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@%s
"""


def rules(base: str, head: str) -> list[tuple[str, str]]:
    path = ".github/workflows/labeler.yml"
    changes = analyze_files(
        [FileDiff(path=path, base=base.encode(), head=head.encode())], RepoConfig()
    )
    findings = evaluate_rules(PACK, changes, is_agent=True, author="renovate[bot]")
    # Workflow files are governance files too (governance.agent-change): only workflow rules here.
    return sorted(
        (f.rule, f.address or "")
        for f in findings
        if f.severity in ("high", "critical") and f.rule.startswith("workflow.")
    )


def test_an_action_bump_in_a_job_that_checks_out_nothing_is_not_high() -> None:
    base = LABEL % ("", "v5", "v4")
    assert rules(base, LABEL % ("", "v6", "v4")) == []


def test_a_bump_in_a_job_that_checks_out_code_is_not_high_either() -> None:
    # redash dbab9cadb4 / 753ea846ff: edits of a pull_request_target job that was already there
    # and gains no secret are the trigger re-reported, not a new exposure.
    base = LABEL % ("", "v5", "v4")
    assert rules(base, LABEL % ("", "v5", "v5")) == []


def test_a_new_secret_in_a_job_that_checks_out_code_fires() -> None:
    # redash c08292d90e: CODECOV_TOKEN reaches a pull_request_target job that runs the PR's code.
    base = LABEL % ("", "v5", "v4")
    head = base.replace(
        "      - uses: actions/setup-node@v4\n",
        "      - uses: actions/setup-node@v4\n"
        "      - uses: codecov/codecov-action@v4\n"
        "        with:\n          token: ${{ secrets.CODECOV_TOKEN }}\n",
    )
    assert head != base
    found = rules(base, head)
    assert ("workflow.pull-request-target", "job.preview") in found
    assert ("workflow.new-secrets", "job.preview") in found


def test_a_job_that_starts_checking_out_code_fires() -> None:
    base = LABEL % ("", "v5", "v4")
    head = base.replace(
        "      - uses: actions/labeler@v5\n",
        "      - uses: actions/checkout@v4\n      - uses: actions/labeler@v5\n",
    )
    assert head != base
    assert ("workflow.pull-request-target", "job.triage") in rules(base, head)


def test_the_built_in_token_is_not_a_new_secret() -> None:
    # flux2-kustomize-helm-example 6f7a258b77: GITHUB_TOKEN passed to a registry login.
    base = LABEL % ("", "v5", "v4")
    head = base.replace(
        "        with:\n          sync-labels: true\n",
        "        with:\n          sync-labels: true\n"
        "          repo-token: ${{ secrets.GITHUB_TOKEN }}\n",
    )
    assert head != base
    assert rules(base, head) == []


def test_a_starter_template_runs_nothing_here() -> None:
    # actions/starter-workflows: workflow templates outside .github/workflows/ (configured as
    # workflows) reference secrets and permissions by design; GitHub runs none of them.
    head = LABEL % ("", "v5", "v4")
    head = head.replace("contents: read", "contents: write")
    head += "      - run: echo ${{ secrets.OCTOPUS_API_KEY }}\n"
    path = "deployments/octopusdeploy.yml"
    changes = analyze_files(
        [FileDiff(path=path, base=None, head=head.encode())],
        RepoConfig.model_validate({"paths": {"deployments/*.yml": {"kind": "workflow"}}}),
    )
    assert {c.facts.get("workflow_template") for c in changes} == {True}
    findings = evaluate_rules(PACK, changes, is_agent=True, author="renovate[bot]")
    assert [
        f.rule for f in findings if f.rule.startswith("workflow.") and f.severity == "high"
    ] == []
    # The same file where GitHub runs it is high on all three counts.
    changes = analyze_files(
        [FileDiff(path=".github/workflows/o.yml", base=None, head=head.encode())], RepoConfig()
    )
    high = {
        f.rule
        for f in evaluate_rules(PACK, changes, is_agent=True, author="x")
        if f.severity == "high"
    }
    assert {
        "workflow.new-secrets",
        "workflow.permissions-broadened",
        "workflow.pull-request-target",
    } <= high


def test_a_new_trigger_still_fires() -> None:
    base = LABEL.replace("  pull_request_target:\n", "  pull_request:\n") % ("", "v5", "v4")
    hits = rules(base, LABEL % ("", "v5", "v4"))
    assert "workflow.pull-request-target" in {r for r, _ in hits}
