"""The workflow analyzer: triggers, permissions, secrets and unpinned actions of CI changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.config.repo import PathRule
from app.core.errors import UnparseableError
from app.core.models import REDACTED, Change, FileDiff
from app.semdiff.workflow.analyzer import (
    Permissions,
    analyze,
    permissions_broadened,
    unpinned,
)
from tests.examples import examples

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "workflow"
CI = ".github/workflows/ci.yml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def run(base: str | bytes | None, head: str | bytes | None, path: str = CI) -> list[Change]:
    def raw(side: str | bytes | None) -> bytes | None:
        return side.encode() if isinstance(side, str) else side

    status = "added" if base is None else "removed" if head is None else "modified"
    return analyze(FileDiff(path=path, status=status, base=raw(base), head=raw(head)), PathRule())


def by_address(changes: list[Change]) -> dict[str, Change]:
    out = {c.address: c for c in changes}
    assert len(out) == len(changes)
    return out


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    return {f.path: (f.before, f.after) for f in change.fields}


def line_of(text: bytes, needle: str) -> int:
    return text[: text.index(needle.encode())].count(b"\n") + 1


def test_ci_change_reports_trigger_permissions_secrets_and_unpinned_actions() -> None:
    head = fixture("ci_head.yml")
    changes = by_address(run(fixture("ci_base.yml"), head))
    assert set(changes) == {"workflow", "job.test", "job.deploy-preview"}, "lint/publish same"

    top = changes["workflow"]
    assert top.op == "update"
    assert top.line == line_of(head, "on:")
    assert fields(top) == {
        "env.PYTHON_VERSION": ("3.11", "3.12"),
        "on.pull_request": ({}, None),
        "on.pull_request_target.types": (None, ["opened", "synchronize"]),
        "permissions.contents": ("read", "write"),
        "permissions.pull-requests": (None, "write"),
    }
    facts = top.facts
    assert facts["triggers"] == ["pull_request_target", "push"]
    assert facts["pull_request_target"] is True
    assert facts["permissions_before"] == {"contents": "read"}
    assert facts["permissions_after"] == {"contents": "write", "pull-requests": "write"}
    assert facts["permissions_broadened"] is True
    assert facts["secrets_used"] == ["CODECOV_TOKEN", "PYPI_TOKEN", "VERCEL_ORG_ID", "VERCEL_TOKEN"]
    assert facts["new_secrets"] == ["CODECOV_TOKEN", "VERCEL_ORG_ID", "VERCEL_TOKEN"]
    assert "actions/checkout@v4" in facts["actions"]
    assert facts["unpinned_actions"] == ["amondnet/vercel-action@v25", "codecov/codecov-action@v4"]

    test = changes["job.test"]
    assert test.line == line_of(head, "  test:")
    assert fields(test) == {
        "steps[Checkout].with.ref": (None, "${{ github.event.pull_request.head.sha }}"),
        "steps[Upload coverage].name": (None, "Upload coverage"),
        "steps[Upload coverage].uses": (None, "codecov/codecov-action@v4"),
        "steps[Upload coverage].with.token": (None, "${{ secrets.CODECOV_TOKEN }}"),
    }, "steps matched by name"
    assert test.facts["job"] == "test"
    assert test.facts["new_secrets"] == ["CODECOV_TOKEN"]
    assert test.facts["unpinned_actions"] == ["codecov/codecov-action@v4"]
    assert test.facts["pull_request_target"] is True, "file-wide facts on every change"
    assert test.facts["permissions_broadened"] is True, "inherits the workflow's permissions"

    preview = changes["job.deploy-preview"]
    assert preview.op == "create"
    assert preview.facts["secrets_used"] == ["VERCEL_ORG_ID", "VERCEL_TOKEN"]


def test_formatting_only_edit_is_no_change() -> None:
    assert run(fixture("ci_base.yml"), fixture("ci_reformatted.yml")) == []


def test_new_workflow_with_reusable_call_docker_and_local_actions() -> None:
    changes = by_address(run(None, fixture("release.yml"), ".github/workflows/release.yml"))
    assert {c.op for c in changes.values()} == {"create"}
    top = changes["workflow"].facts
    assert top["triggers"] == ["release", "workflow_dispatch"]
    assert top["pull_request_target"] is False
    assert top["permissions_after"] == "default"
    assert top["permissions_broadened"] is False
    assert top["secrets_inherit"] is True
    assert top["actions"] == [
        "./.github/actions/sign-image",
        "acme/shared-workflows/.github/workflows/notify.yml@main",
        "actions/checkout@v4",
        "docker/build-push-action@v6",
        "docker/login-action@v3",
        "docker://alpine:3.20",
    ]
    assert top["unpinned_actions"] == [
        "acme/shared-workflows/.github/workflows/notify.yml@main",
        "docker/build-push-action@v6",
        "docker/login-action@v3",
    ]
    assert fields(changes["workflow"])["on.workflow_dispatch"] == (None, {})
    image = changes["job.image"]
    assert fields(image)["permissions.id-token"] == (None, "write"), "a scope, not a secret"
    assert image.facts["permissions_broadened"] is True, "packages: write beyond the default"
    notify = changes["job.notify"]
    assert fields(notify)["secrets"] == (None, "inherit")
    assert notify.facts["secrets_inherit"] is True


def test_deleted_workflow_deletes_every_job_with_base_lines() -> None:
    base = fixture("ci_base.yml")
    changes = by_address(run(base, None))
    assert {a: c.op for a, c in changes.items()} == {
        "workflow": "delete",
        "job.test": "delete",
        "job.lint": "delete",
        "job.publish": "delete",
    }
    assert changes["job.publish"].line == line_of(base, "  publish:")
    assert changes["job.publish"].facts["permissions_broadened"] is False


def test_literal_secrets_are_redacted_and_step_order_is_reported() -> None:
    base = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-24.04
    steps:
      - id: login
        run: ./login.sh
        env:
          REGISTRY_PASSWORD: hunter2-registry
      - id: push
        run: ./push.sh
"""
    head = """\
on: push
jobs:
  deploy:
    runs-on: ubuntu-24.04
    steps:
      - id: push
        run: ./push.sh
      - id: login
        run: ./login.sh
        env:
          REGISTRY_PASSWORD: correct-horse-registry
"""
    [change] = run(base, head)
    assert fields(change) == {
        "steps[login].env.REGISTRY_PASSWORD": (REDACTED, REDACTED),
        "steps.order": (["login", "push"], ["push", "login"]),
    }
    text = json.dumps(change.model_dump(mode="json"))
    assert "hunter2" not in text
    assert "correct-horse" not in text


def test_unnamed_run_steps_are_matched_by_their_script() -> None:
    base = "on: push\njobs:\n  a:\n    steps:\n      - run: make\n      - run: make test\n"
    head = "on: push\njobs:\n  a:\n    steps:\n      - run: make\n      - run: make check\n"
    [change] = run(base, head)
    assert fields(change) == {
        "steps[run:make check].run": (None, "make check"),
        "steps[run:make test].run": ("make test", None),
    }


def test_dropping_explicit_permissions_falls_back_to_the_unknown_default() -> None:
    base = "on: push\npermissions: {contents: read}\njobs: {}\n"
    head = "on: push\njobs: {}\n"
    [change] = run(base, head)
    assert change.facts["permissions_after"] == "default"
    assert change.facts["permissions_change"] == "default"
    assert change.facts["permissions_broadened"] is False
    assert fields(change) == {"permissions.contents": ("read", None)}


@pytest.mark.parametrize(
    ("before", "after", "broadened"),
    [
        ("read-all", "write-all", True),
        ({"contents": "read"}, "default", False),
        ("write-all", "default", False),
        ("default", {"contents": "read"}, False),
        ("default", {"contents": "write"}, True),
        ("default", {"issues": "read"}, False),
        ({"contents": "write"}, {"contents": "read"}, False),
        ({}, {"issues": "read"}, False),  # a read scope changes nothing (#24)
        ({}, {"issues": "write"}, True),
        ("read-all", {"contents": "write"}, True),
        ({"contents": "read", "issues": "write"}, "read-all", False),
        ({"contents": "read"}, {"contents": "read", "pull-requests": "read"}, False),
        ("write-all", "read-all", False),
        ({"id-token": "write"}, {"id-token": "write"}, False),
        (None, "default", False),
        (None, "write-all", True),
        ({"contents": "write"}, None, False),
    ],
)
def test_permissions_broadened(
    before: Permissions | None, after: Permissions | None, broadened: bool
) -> None:
    assert permissions_broadened(before, after) is broadened


@pytest.mark.parametrize(
    ("uses", "expected"),
    [
        ("actions/checkout@v4", False),
        ("github/codeql-action/init@v3", False),
        ("codecov/codecov-action@v4", True),
        ("codecov/codecov-action@0565863a31f2c772f9f0395002a31e3f06189574", False),
        ("codecov/codecov-action@0565863", True),
        ("acme/workflows/.github/workflows/build.yml@main", True),
        ("./.github/actions/setup", False),
        ("docker://ghcr.io/acme/tool:1.0", False),
        ("someone/action", True),
    ],
)
def test_unpinned(uses: str, expected: bool) -> None:
    assert unpinned(uses) is expected


@pytest.mark.parametrize(
    "head",
    [
        "on: push\njobs:\n  a:\n    runs-on: x\n   steps: []\n",
        "on: push\njobs:\n\ta: {}\n",
        "on: push\n---\njobs: {}\n",
        "- on: push\n",
        "on: push\njobs: [a, b]\n",
        b"on: push\nname: \xc3\x28\n",
        "on: push\njobs:\n  a:\n    steps:\n      - uses: !Ref Action\n",
    ],
    ids=["indentation", "tab", "two-documents", "not-a-mapping", "jobs-list", "utf8", "tag"],
)
def test_unparseable(head: str | bytes) -> None:
    with pytest.raises(UnparseableError) as info:
        run(fixture("ci_base.yml"), head)
    assert info.value.file == CI


# -- step identity -----------------------------------------------------------------------------


def test_sha_bump_of_unnamed_steps_is_one_field_change_each() -> None:
    head = fixture("build_head.yml")
    [change] = run(fixture("build_base.yml"), head, ".github/workflows/build.yml")
    assert change.address == "job.build"
    assert fields(change) == {
        "steps[uses:actions/checkout].uses": (
            "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683",
            "actions/checkout@eef61447b9ff4aafe5dcd4e0bbf5d482be7e7871",
        ),
        "steps[run:go generate ./... && git diff --exit-code].run": (
            None,
            "go generate ./... && git diff --exit-code",
        ),
        "steps[uses:actions/upload-artifact#2].uses": (
            "actions/upload-artifact@6f51ac03b9356f520e9adb1b1b7802705f340c2b",
            "actions/upload-artifact@65c4c4a1ddee5b72f698fdd19549f0f0fb45cf08",
        ),
    }, "repeats told apart by occurrence; an inserted step shifts nothing"
    assert change.facts["unpinned_actions"] == []


def test_multiline_script_is_known_by_its_first_line() -> None:
    base = fixture("build_base.yml").decode()
    head = base.replace("go test -race", "go test -race -shuffle=on")
    [change] = run(base, head, ".github/workflows/build.yml")
    assert list(fields(change)) == ["steps[run:go vet ./...].run"]


# -- script injection, OIDC, secrets: inherit, pwn requests -------------------------------------

TRIAGE = """\
name: Triage
on:
  issues:
    types: [opened]
permissions:
  issues: write
jobs:
  label:
    runs-on: ubuntu-24.04
    steps:
      - name: Label
        env:
          TITLE: ${{ github.event.issue.title }}
        run: ./scripts/label.sh "$TITLE"
"""


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ('echo "${{ github.event.issue.title }}" | ./scripts/label.sh', ["github.event.issue.title"]),
        ("gh issue comment 1 --body '${{ github.event.comment.body }}'", ["github.event.comment.body"]),
        ('git push origin "HEAD:${{ github.head_ref }}"', ["github.head_ref"]),
        ('echo "${{ github.event.pull_request.head.ref }}"', ["github.event.pull_request.head.ref"]),
        ('echo "${{ github.event.commits[0].message }}"', ["github.event.commits[0].message"]),
        ('echo "${{ github.event.head_commit.author.email }}"',
         ["github.event.head_commit.author.email"]),
        ('echo "${{ github.event.workflow_run.head_branch }}"',
         ["github.event.workflow_run.head_branch"]),
        ('echo "${{ github.event.pages.*.page_name }}"', ["github.event.pages.*.page_name"]),
        ('echo "${{ github.event.issue.number }}" "${{ github.sha }}"', []),
        ('./scripts/label.sh --dry-run "$TITLE"', []),
    ],
)  # fmt: skip
def test_untrusted_expression_in_run_is_script_injection(script: str, expected: list[str]) -> None:
    head = TRIAGE.replace('./scripts/label.sh "$TITLE"', script)
    [change] = run(TRIAGE, head, ".github/workflows/triage.yml")
    assert change.facts["new_script_injection"] == [f"Label: {e}" for e in expected]


def test_untrusted_expression_in_github_script_is_script_injection() -> None:
    head = TRIAGE.replace(
        """      - name: Label
        env:
          TITLE: ${{ github.event.issue.title }}
        run: ./scripts/label.sh "$TITLE"
""",
        """      - uses: actions/github-script@60a0d83039c74a4aee543508d2ffcb1c3799cdea # v7.0.1
        with:
          script: |
            const title = "${{ github.event.issue.title }}";
            await github.rest.issues.addLabels({...context.repo, issue_number: 1, labels: [title]});
""",
    )
    [change] = run(TRIAGE, head, ".github/workflows/triage.yml")
    expected = ["uses:actions/github-script: github.event.issue.title"]
    assert change.facts["new_script_injection"] == expected
    [again] = run(head, head.replace("labels: [title]", "labels: [title, 'triage']"))
    assert again.facts["script_injection"] == expected
    assert again.facts["new_script_injection"] == [], "already there: not new"


DEPLOY = """\
name: Deploy
on:
  push:
    branches: [main]
permissions:
  contents: read
jobs:
  deploy:
    runs-on: ubuntu-24.04
    environment: production
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: ./deploy.sh
  notify:
    uses: acme/shared-workflows/.github/workflows/notify.yml@4f0c2f1d0e6b3c1a2b9d8e7f6a5b4c3d2e1f0a9b
    with:
      channel: releases
"""


def test_id_token_write_at_job_level_and_secrets_inherit() -> None:
    head = DEPLOY.replace(
        "    environment: production\n",
        "    environment: production\n    permissions:\n      contents: read\n      id-token: write\n",
    ).replace("      channel: releases\n", "      channel: releases\n    secrets: inherit\n")
    changes = by_address(run(DEPLOY, head, ".github/workflows/deploy.yml"))
    deploy = changes["job.deploy"]
    assert fields(deploy) == {
        "permissions.contents": (None, "read"),
        "permissions.id-token": (None, "write"),
    }
    assert deploy.facts["id_token_write_added"] is True
    assert deploy.facts["permissions_broadened"] is True
    notify = changes["job.notify"]
    assert fields(notify) == {"secrets": (None, "inherit")}
    assert notify.facts["secrets_inherit_added"] is True
    assert notify.facts["id_token_write_added"] is False


def test_id_token_write_at_workflow_level() -> None:
    head = DEPLOY.replace("  contents: read\n", "  contents: read\n  id-token: write\n")
    changes = by_address(run(DEPLOY, head, ".github/workflows/deploy.yml"))
    assert set(changes) == {"workflow"}
    assert changes["workflow"].facts["id_token_write_added"] is True
    [same] = run(head, head.replace("branches: [main]", "branches: [main, release]"))
    assert same.facts["id_token_write"] is True
    assert same.facts["id_token_write_added"] is False


PR_TARGET = """\
name: Preview
on:
  pull_request_target:
    types: [labeled]
permissions:
  contents: read
  pull-requests: write
jobs:
  preview:
    if: contains(github.event.pull_request.labels.*.name, 'safe-to-preview')
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: npm ci && npm run build
"""


@pytest.mark.parametrize(
    ("checkout", "pwn"),
    [
        ("        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n", True),
        (
            "        with:\n          repository: ${{ github.event.pull_request.head.repo.full_name }}"
            "\n          ref: ${{ github.head_ref }}\n",
            True,
        ),
        ("        with:\n          ref: refs/pull/${{ github.event.number }}/merge\n", True),
        ("        with:\n          ref: main\n", False),
        ("        with:\n          fetch-depth: 0\n", False),
    ],
)
def test_pull_request_target_checking_out_the_pr_head(checkout: str, pwn: bool) -> None:
    anchor = "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
    head = PR_TARGET.replace(anchor, anchor + checkout)
    [change] = run(PR_TARGET, head, ".github/workflows/preview.yml")
    assert change.facts["pr_target_checkout"] is pwn
    assert change.facts["pr_target_checkout_before"] is False


def test_gh_pr_checkout_in_a_pull_request_target_script() -> None:
    head = PR_TARGET.replace("npm ci && npm run build", "gh pr checkout ${{ github.event.number }}")
    [change] = run(PR_TARGET, head, ".github/workflows/preview.yml")
    assert change.facts["pr_target_checkout"] is True
    plain = PR_TARGET.replace("pull_request_target:", "pull_request:")
    [safe] = run(plain, head.replace("pull_request_target:", "pull_request:"))
    assert safe.facts["pr_target_checkout"] is False, "pull_request runs without secrets"


# -- permissions compared with their previous explicit value ------------------------------------


def test_adding_a_narrow_permissions_block_is_a_narrowing() -> None:
    base = DEPLOY.replace("permissions:\n  contents: read\n", "")
    changes = by_address(run(base, DEPLOY, ".github/workflows/deploy.yml"))
    top = changes["workflow"]
    assert top.facts["permissions_before"] == "default"
    assert top.facts["permissions_change"] == "narrowed"
    assert top.facts["permissions_broadened"] is False


@pytest.mark.parametrize(
    ("before", "after", "change"),
    [
        ("contents: read", "contents: write", "broadened"),
        ("contents: read", "contents: read\n  packages: write", "broadened"),
        ("contents: write", "contents: read", "narrowed"),
        ("contents: read", "write-all", "broadened"),
        ("contents: read", None, "default"),
        ("write-all", None, "narrowed"),
        (None, "contents: read", "narrowed"),
        (None, "read-all", "narrowed"),
        (None, "contents: write", "broadened"),
    ],
)
def test_permissions_change_at_workflow_level(
    before: str | None, after: str | None, change: str
) -> None:
    def workflow(perms: str | None) -> str:
        if perms is None:
            return "on: push\njobs: {}\n"
        if ":" not in perms:
            return f"on: push\npermissions: {perms}\njobs: {{}}\n"
        return f"on: push\npermissions:\n  {perms}\njobs: {{}}\n"

    [top] = run(workflow(before), workflow(after))
    assert top.facts["permissions_change"] == change
    assert top.facts["permissions_broadened"] is (change == "broadened")


def test_job_permissions_compared_with_the_workflow_value_they_replace() -> None:
    head = DEPLOY.replace(
        "    environment: production\n",
        "    environment: production\n    permissions:\n      contents: write\n",
    )
    [job] = run(DEPLOY, head, ".github/workflows/deploy.yml")
    assert job.facts["permissions_before"] == {"contents": "read"}
    assert job.facts["permissions_change"] == "broadened"
    [back] = run(head, DEPLOY, ".github/workflows/deploy.yml")
    assert back.facts["permissions_change"] == "narrowed", "inherits the explicit read again"


ACTIONS = st.sampled_from(
    ["actions/checkout", "actions/setup-python", "actions/cache", "docker/login-action",
     "actions/upload-artifact"]
)  # fmt: skip
SHAS = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
SCRIPTS = st.sampled_from(["make", "make test", "pytest -q", "npm ci\nnpm test", "./deploy.sh"])
STEPS = st.lists(
    st.one_of(
        st.builds(lambda a, s: {"uses": f"{a}@{s}"}, ACTIONS, SHAS),
        st.builds(lambda r: {"run": r}, SCRIPTS),
    ),
    min_size=1,
    max_size=8,
)


def as_workflow(steps: list[dict[str, str]]) -> str:
    """JSON is YAML: a workflow file as `json.dumps` writes it."""
    return json.dumps(
        {"on": "push", "jobs": {"build": {"runs-on": "ubuntu-24.04", "steps": steps}}}
    )


@settings(max_examples=examples(60), deadline=None)
@given(STEPS, st.data())
def test_property_bumping_one_action_is_one_uses_change(
    steps: list[dict[str, str]], data: st.DataObject
) -> None:
    assert run(as_workflow(steps), as_workflow(steps)) == []
    actions = [i for i, s in enumerate(steps) if "uses" in s]
    if not actions:
        return
    index = data.draw(st.sampled_from(actions))
    old = steps[index]["uses"]
    new = old.partition("@")[0] + "@" + data.draw(SHAS.filter(lambda s: s != old[-40:]))
    bumped = [*steps[:index], {"uses": new}, *steps[index + 1 :]]
    [change] = run(as_workflow(steps), as_workflow(bumped))
    [(path, values)] = fields(change).items()
    assert path.startswith("steps[uses:") and path.endswith("].uses")
    assert values == (old, new)
