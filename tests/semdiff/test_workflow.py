"""The workflow analyzer: triggers, permissions, secrets and unpinned actions of CI changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.errors import UnparseableError
from app.models import REDACTED, Change, FileDiff
from app.repo_config import PathRule
from app.semdiff.workflow import Permissions, analyze, permissions_broadened, unpinned

FIXTURES = Path(__file__).parent.parent / "fixtures" / "workflow"
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


def test_steps_without_unique_names_are_compared_whole() -> None:
    base = "on: push\njobs:\n  a:\n    steps:\n      - run: make\n      - run: make test\n"
    head = "on: push\njobs:\n  a:\n    steps:\n      - run: make\n      - run: make check\n"
    [change] = run(base, head)
    assert list(fields(change)) == ["steps"]


def test_dropping_explicit_permissions_broadens() -> None:
    base = "on: push\npermissions: {contents: read}\njobs: {}\n"
    head = "on: push\njobs: {}\n"
    [change] = run(base, head)
    assert change.facts["permissions_after"] == "default"
    assert change.facts["permissions_broadened"] is True
    assert fields(change) == {"permissions.contents": ("read", None)}


@pytest.mark.parametrize(
    ("before", "after", "broadened"),
    [
        ("read-all", "write-all", True),
        ({"contents": "read"}, "default", True),
        ("write-all", "default", False),
        ("default", {"contents": "read"}, False),
        ("default", {"contents": "write"}, True),
        ("default", {"issues": "read"}, True),
        ({"contents": "write"}, {"contents": "read"}, False),
        ({}, {"issues": "read"}, True),
        ("read-all", {"contents": "write"}, True),
        ({"contents": "read", "issues": "write"}, "read-all", True),
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
