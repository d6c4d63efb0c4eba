"""Governance edits graded by what changed (issue #24): a workflow edit that can weaken review or
enlarge privileges is `governance.*-change`; action and tool bumps are routine CI maintenance.

Excerpts (trimmed) from terraform-aws-modules/terraform-aws-s3-bucket 58a531d293 `lock.yml` and
terraform-aws-security-group c29d80333f `pre-commit.yml` (Apache-2.0), grafana/helm-charts
7c35743a1c `sync-readme.yaml` (Apache-2.0), supabase/auth ab445f170b `test.yml` (MIT) and cli/cli
5ecdf166fb `deployment-hsm-testing.yml` (MIT); the others are faithful re-creations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config.repo import RepoConfig
from app.core.models import Change, FileDiff
from app.risk import RulePack, evaluate_rules, load_rule_pack
from app.semdiff.dispatch import analyze_files

ROOT = Path(__file__).resolve().parents[2]

LOCK = """name: 'Lock Threads'

on:
  schedule:
    - cron: '50 1 * * *'

jobs:
  lock:
    runs-on: ubuntu-latest
    steps:
      - uses: dessant/lock-threads@%s
        with:
          github-token: ${{ secrets.GITHUB_TOKEN }}
          issue-comment: >
            I'm going to lock this issue because it has been closed for 30 days.
"""
PRE_COMMIT_BASE = """name: Pre-Commit

on:
  pull_request:
  push:
    branches:
      - master

jobs:
  getDirectories:
    name: Get root directories
    runs-on: ubuntu-latest
    steps:
      - name: Checkout
        uses: actions/checkout@v2
      - name: Build matrix
        id: matrix
        run: echo "::set-output name=directories::$(ls -d */)"
  preCommitMinVersions:
    runs-on: ubuntu-latest
    steps:
      - name: Checkout
        uses: actions/checkout@v2
      - name: Pre-commit
        run: pre-commit run --all-files
"""
PRE_COMMIT_HEAD = """name: Pre-Commit

on:
  pull_request:
    branches:
      - master

jobs:
  preCommitMinVersions:
    runs-on: ubuntu-latest
    steps:
      - name: Checkout
        uses: actions/checkout@v4
      - name: Pre-commit
        run: pre-commit run --all-files
"""
SYNC_README = """name: Sync README
on:
  push:
    branches: [main]
permissions:
  contents: write
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v6
        with:
          ref: gh-pages
%s      - run: git push
"""
TEST_BASE = """on:
  pull_request:
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - name: Checkout code
        uses: actions/checkout@v6
      - name: Run tests
        run: make test
"""
TEST_RENAMED = TEST_BASE.replace("  test:\n", "  test_postgres:\n    name: Test / Postgres\n")
HSM = """name: Deployment HSM Testing
permissions:
  contents: write
on:
  workflow_dispatch:
    inputs:
      tag_name:
        required: true
        type: string
jobs:
  windows:
    runs-on: windows-latest
    steps:
      - run: signtool sign
"""


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rule_pack(ROOT / "risk_rules")


def graded(
    pack: RulePack, path: str, base: str | None, head: str | None, *, agent: bool = False
) -> dict[str, tuple[str, str]]:
    """address → (rule, severity) of the governance finding on each change of one file."""
    status = "added" if base is None else "removed" if head is None else "modified"
    file = FileDiff(
        path=path,
        status=status,
        base=base.encode() if base is not None else None,
        head=head.encode() if head is not None else None,
    )
    changes: list[Change] = analyze_files([file], RepoConfig())
    author = "dependabot[bot]" if agent else "alice"
    out: dict[str, tuple[str, str]] = {}
    for f in evaluate_rules(pack, changes, is_agent=agent, author=author):
        if f.rule.startswith("governance."):
            out[f.address or ""] = (f.rule, str(f.severity))
    return out


def test_an_action_bump_is_routine_ci_maintenance(pack: RulePack) -> None:
    path = ".github/workflows/lock.yml"
    assert graded(pack, path, LOCK % "v5", LOCK % "v6") == {
        "job.lock": ("governance.ci-maintenance", "low")
    }
    assert graded(pack, path, LOCK % "v5", LOCK % "v6", agent=True) == {
        "job.lock": ("governance.agent-ci-maintenance", "medium")
    }


def test_a_dropped_push_trigger_and_removed_job_govern(pack: RulePack) -> None:
    found = graded(pack, ".github/workflows/pre-commit.yml", PRE_COMMIT_BASE, PRE_COMMIT_HEAD)
    assert found == {
        "workflow": ("governance.human-change", "high"),
        "job.getDirectories": ("governance.human-change", "high"),
        "job.preCommitMinVersions": ("governance.ci-maintenance", "low"),
    }


def test_dropping_persist_credentials_false_governs(pack: RulePack) -> None:
    found = graded(
        pack,
        ".github/workflows/sync-readme.yaml",
        SYNC_README % "          persist-credentials: false\n",
        SYNC_README % "",
    )
    assert found == {"job.build": ("governance.human-change", "high")}


def test_a_renamed_job_is_not_a_removed_check(pack: RulePack) -> None:
    found = graded(pack, ".github/workflows/test.yml", TEST_BASE, TEST_RENAMED)
    assert found == {
        "job.test": ("governance.ci-maintenance", "low"),
        "job.test_postgres": ("governance.ci-maintenance", "low"),
    }


def test_a_removed_pull_request_job_governs(pack: RulePack) -> None:
    head = TEST_BASE.replace("  test:\n", "  lint:\n").replace("make test", "make lint")
    found = graded(pack, ".github/workflows/test.yml", TEST_BASE, head)
    assert found["job.test"] == ("governance.human-change", "high")


def test_deleting_a_manual_workflow_removes_no_check(pack: RulePack) -> None:
    found = graded(pack, ".github/workflows/deployment-hsm-testing.yml", HSM, None)
    assert found == {
        "workflow": ("governance.ci-maintenance", "low"),
        "job.windows": ("governance.ci-maintenance", "low"),
    }


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (TEST_BASE.replace("  pull_request:\n", "  pull_request_target:\n"), "workflow"),
        (
            TEST_BASE.replace("  pull_request:\n", "  pull_request:\n    paths-ignore: [src/**]\n"),
            "workflow",
        ),
        (TEST_BASE.replace("contents: read", "contents: write"), "workflow"),
        (TEST_BASE.replace("make test", "make test || true"), "job.test"),
        (
            TEST_BASE.replace("    runs-on:", "    if: github.actor != 'x'\n    runs-on:"),
            "job.test",
        ),
        (
            TEST_BASE.replace("    runs-on:", "    continue-on-error: true\n    runs-on:"),
            "job.test",
        ),
        (TEST_BASE.replace("make test", "make test ${{ secrets.TOKEN }}"), "job.test"),
        (TEST_BASE.split("      - name: Run tests")[0], "job.test"),
    ],
)
def test_edits_that_loosen_review_or_enlarge_privileges_are_critical_for_agents(
    pack: RulePack, head: str, why: str
) -> None:
    found = graded(pack, ".github/workflows/test.yml", TEST_BASE, head, agent=True)
    assert found[why] == ("governance.agent-change", "critical")


@pytest.mark.parametrize(
    ("path", "base", "head"),
    [
        (".github/CODEOWNERS", "* @acme/platform\n", "* @acme/platform @acme/bots\n"),
        ("risk_rules/local.yaml", "rules: []\n", "rules: [{id: x}]\n"),
        ("policies/agents.yaml", "agents: []\n", "agents: [{login: bot}]\n"),
        (".github/countersign.yml", "tiers: {}\n", "tiers: {2: 1}\n"),
        # Unparseable: not graded, so governed (fail closed).
        (".github/workflows/test.yml", TEST_BASE, TEST_BASE + "  bad: [\n"),
    ],
)
def test_the_gate_s_own_files_always_govern(
    pack: RulePack, path: str, base: str, head: str
) -> None:
    found = graded(pack, path, base, head)
    assert found
    assert set(found.values()) == {("governance.human-change", "high")}


@pytest.mark.parametrize(
    "head",
    [
        # netbox 3e4ad4a5da: a read scope writes nothing.
        TEST_BASE.replace("contents: read", "contents: read\n  pull-requests: read"),
        # dispatch 28d55d98a2: the default activity types plus one run at least as often.
        TEST_BASE.replace(
            "  pull_request:\n",
            "  pull_request:\n    types: [opened, synchronize, reopened, ready_for_review]\n",
        ),
        # netbox cd56523cc5: branch CI on push is not what a pull request waits for.
        TEST_BASE.replace("  pull_request:\n", "  pull_request:\n  push:\n    branches: [main]\n"),
    ],
)
def test_edits_that_loosen_nothing_are_routine(pack: RulePack, head: str) -> None:
    found = graded(pack, ".github/workflows/test.yml", TEST_BASE, head)
    assert found
    assert {rule for rule, _ in found.values()} == {"governance.ci-maintenance"}


def test_a_guard_on_a_job_that_reports_no_check_is_routine(pack: RulePack) -> None:
    """redash 8e6c02ecde: a scheduled job limited to the default branch only runs less."""
    guarded = HSM.replace("    runs-on:", "    if: github.ref_name == 'main'\n    runs-on:")
    found = graded(pack, ".github/workflows/deployment-hsm-testing.yml", HSM, guarded)
    assert found == {"job.windows": ("governance.ci-maintenance", "low")}


def test_a_push_filter_change_beside_pull_request_is_routine(pack: RulePack) -> None:
    """netbox cd56523cc5: push CI limited to some branches; pull requests still run checks."""
    base = TEST_BASE.replace("  pull_request:\n", "  pull_request:\n  push:\n")
    head = TEST_BASE.replace(
        "  pull_request:\n", "  pull_request:\n  push:\n    branches: [main]\n"
    )
    found = graded(pack, ".github/workflows/test.yml", base, head)
    assert found == {"workflow": ("governance.ci-maintenance", "low")}


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (TEST_BASE.split("      - name: Run tests")[0], "job.test"),
        (TEST_BASE.replace("    runs-on:", "    if: false\n    runs-on:"), "job.test"),
        (None, "job.test"),
    ],
)
def test_a_reusable_workflow_s_checks_govern(pack: RulePack, head: str | None, why: str) -> None:
    """A `workflow_call` workflow runs inside its caller, which may be a pull request's check
    (`uses: ./.github/workflows/test.yml`): removing its test command, guarding its job off or
    deleting it removes that check (it was graded routine CI maintenance)."""
    base = TEST_BASE.replace("  pull_request:\n", "  workflow_call:\n")
    if head is not None:
        head = head.replace("  pull_request:\n", "  workflow_call:\n")
    found = graded(pack, ".github/workflows/test.yml", base, head, agent=True)
    assert found[why] == ("governance.agent-change", "critical")


def test_a_reusable_workflow_s_action_bump_stays_routine(pack: RulePack) -> None:
    base = TEST_BASE.replace("  pull_request:\n", "  workflow_call:\n")
    found = graded(pack, ".github/workflows/test.yml", base, base.replace("@v6", "@v7"))
    assert found == {"job.test": ("governance.ci-maintenance", "low")}
