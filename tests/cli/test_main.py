"""`countersign analyze` as users run it: the real console script on a real git repository."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "app.cli.main"]
AGENT_EMAIL = "41898282+infra-bot[bot]@users.noreply.github.com"
DB_TF = """resource "aws_db_instance" "orders" {
  identifier          = "orders-prod"
  instance_class      = "db.r6g.large"
  deletion_protection = true
  password            = "hunter2-do-not-print"
}
"""
CATALOG = '{"currency": "USD", "plans": [{"plan_code": "pro", "monthly_usd": 49.0}]}\n'
DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 3
  template:
    spec:
      containers:
        - {name: app, image: "acme/web:1.4.0"}
"""


def git(repo: Path, *args: str, email: str = "dev@example.com") -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "x",
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": "x",
        "GIT_COMMITTER_EMAIL": email,
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout


def write(repo: Path, files: dict[str, str | None]) -> None:
    for path, text in files.items():
        target = repo / path
        if text is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "platform"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    git(r, "remote", "add", "origin", "git@github.com:acme/platform.git")
    write(
        r,
        {
            "infra/prod/db.tf": DB_TF,
            "catalog/plans.json": CATALOG,
            "k8s/web.yaml": DEPLOY,
            "docs/old-name.md": "# Notes\nSome notes.\n",
            ".github/CODEOWNERS": "* @acme/platform\n/catalog/ @acme/finance\n",
            ".github/countersign.yml": (
                'paths:\n  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
                '  "infra/prod/**": {environment: production}\n'
                'approvers:\n  change_board: ["@acme/security"]\n'
            ),
        },
    )
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    write(
        r,
        {
            "infra/prod/db.tf": None,
            "k8s/web.yaml": DEPLOY.replace("1.4.0", "1.5.0"),
            # The head loosens the config: the report must still use the base's.
            ".github/countersign.yml": "enforce_for: agents\n",
        },
    )
    git(r, "mv", "docs/old-name.md", "docs/new-name.md")
    git(r, "add", "-A")
    git(
        r,
        "commit",
        "-qm",
        "Decommission the orders DB\n\nAgent-Run-Id: run_cli_1",
        email=AGENT_EMAIL,
    )
    return r


def run(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, input=stdin, cwd=cwd, timeout=120
    )


def test_analyze_json_report(repo: Path) -> None:
    proc = run("analyze", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["schema_version"] == 1
    assert report["agent"] == {
        **report["agent"],
        "id": "infra-bot",
        "run_id": "run_cli_1",
        "is_agent": True,
    }
    by_file = {(c["file"], c["op"]) for c in report["changes"]}
    assert ("infra/prod/db.tf", "delete") in by_file
    assert ("k8s/web.yaml", "update") in by_file
    assert ("docs/new-name.md", "rename") in by_file
    deleted = next(c for c in report["changes"] if c["file"] == "infra/prod/db.tf")
    assert deleted["facts"]["environment"] == "production"  # from the BASE config
    assert report["tier"] == "blocked"  # the head edits governance: no agent may
    assert "no-agent-governance" in report["policy"]["reasons"]
    assert "hunter2" not in proc.stdout


def test_analyze_markdown(repo: Path) -> None:
    proc = run(
        "analyze", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD", "--format", "markdown"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("### Countersign: Blocked by policy")
    assert (
        "| infra/prod/db.tf | terraform | aws\\_db\\_instance.orders | **delete** |" in proc.stdout
    )


def test_analyze_diff_from_stdin(repo: Path) -> None:
    diff = git(repo, "diff", "HEAD~1", "HEAD", "--", "infra", "k8s")
    proc = run(
        "analyze",
        "--diff",
        "-",
        "--author",
        "infra-bot[bot]",
        "--repo-name",
        "acme/platform",
        stdin=diff,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    ops = {(c["file"], c["op"]) for c in report["changes"]}
    assert ("infra/prod/db.tf", "delete") in ops  # a deleted file is complete in a diff
    k8s = next(c for c in report["changes"] if c["file"] == "k8s/web.yaml")
    assert k8s["facts"].get("partial") is True  # a modified file is known only through hunks
    assert any(f["rule"] == "analysis.partial" for f in report["findings"])
    assert "Agent-Run-Id" in " ".join(report["problems"])  # no PR body or commits: no run ID


def test_analyze_writes_every_output_of_one_evaluation(repo: Path, tmp_path: Path) -> None:
    """`--output FORMAT=PATH` (the GitHub Action writes JSON, Markdown and SARIF in one run):
    each file is what `--format` prints for that format."""
    out = tmp_path / "out"
    out.mkdir()
    change = ("analyze", "--repo", str(repo), "--base", "HEAD~1", "--head", "HEAD")
    proc = run(
        *change,
        "--format",
        "markdown",
        "--output",
        f"json={out / 'report.json'}",
        "--output",
        f"sarif={out / 'report.sarif'}",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("### Countersign: Blocked by policy")
    alone = json.loads(run(*change).stdout)
    assert json.loads((out / "report.json").read_text()) == alone
    sarif = json.loads((out / "report.sarif").read_text())
    assert sarif == json.loads(run(*change, "--format", "sarif").stdout)
    assert sarif["version"] == "2.1.0"


@pytest.mark.parametrize(
    "args",
    [
        ("analyze",),
        ("analyze", "--diff", "-", "--output", "yaml=out.yaml"),
        ("analyze", "--diff", "-", "--output", "report.json"),
        ("analyze", "--base", "HEAD"),
        ("analyze", "--diff", "-", "--base", "HEAD", "--head", "HEAD"),
        ("analyze", "--format", "yaml", "--diff", "-"),
        ("no-such-command",),
    ],
)
def test_usage_errors_exit_2_without_traceback(args: tuple[str, ...], repo: Path) -> None:
    proc = run(*args, stdin="", cwd=repo)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr


def test_unknown_revision_is_a_usage_error(repo: Path) -> None:
    proc = run("analyze", "--repo", str(repo), "--base", "no-such-rev", "--head", "HEAD")
    assert proc.returncode == 2
    assert "unknown revision 'no-such-rev'" in proc.stderr


def test_not_a_diff_is_a_usage_error() -> None:
    proc = run("analyze", "--diff", "-", stdin="this is not a diff\n")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr


def test_unexpected_failure_exits_1_and_debug_shows_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "rules"
    bad.mkdir()
    (bad / "broken.yaml").write_text("rules: [ {id: x\n")
    diff = "--- /dev/null\n+++ b/a.txt\n@@ -0,0 +1 @@\n+x\n"
    proc = run("analyze", "--diff", "-", "--rules-dir", str(bad), stdin=diff)
    assert proc.returncode == 1
    assert "broken.yaml" in proc.stderr and "Traceback" not in proc.stderr
    proc = run("--debug", "analyze", "--diff", "-", "--rules-dir", str(bad), stdin=diff)
    assert proc.returncode == 1
    assert "Traceback" in proc.stderr


def test_conflicting_run_ids_fail(repo: Path) -> None:
    write(repo, {"docs/new-name.md": "# Notes\nMore.\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "more\n\nAgent-Run-Id: run_cli_2", email=AGENT_EMAIL)
    proc = run("analyze", "--repo", str(repo), "--base", "HEAD~2", "--head", "HEAD")
    report = json.loads(proc.stdout)
    assert report["agent"]["run_id"] is None
    assert any("conflicting Agent-Run-Id" in p for p in report["problems"])


def test_rules_test_and_policy_commands() -> None:
    proc = run("rules", "test")
    assert proc.returncode == 0 and "0 failed" in proc.stdout, proc.stderr
    proc = run("policy", "check")
    assert proc.returncode == 0 and "policies OK" in proc.stdout, proc.stderr
    proc = run(
        "policy",
        "who-can",
        "propose",
        "--kind",
        "terraform",
        "--op",
        "delete",
        "--env",
        "production",
    )
    assert proc.returncode == 0
    assert proc.stdout.startswith("infra-bot") and "agent-within-registration" in proc.stdout


def test_analyze_judges_terraform_over_the_whole_module(tmp_path: Path) -> None:
    """A split refactor plus a rename whose `moved` block sits in an unchanged sibling file."""
    module = Path(__file__).resolve().parents[1] / "fixtures" / "terraform" / "vpc_module"
    r = tmp_path / "network"
    r.mkdir()
    git(r, "init", "-q", "-b", "main")
    base_main = (module / "base" / "main.tf").read_text()
    siblings = {f"modules/network/{p.name}": p.read_text() for p in (module / "context").iterdir()}
    migrations = "moved {\n  from = aws_db_instance.orders\n  to   = aws_db_instance.primary\n}\n"
    write(
        r,
        {
            **siblings,
            "modules/network/main.tf": base_main,
            # Prepared ahead of the rename and unchanged by it: only the whole module shows it.
            "modules/network/migrations.tf": migrations,
            # Another module directory with the same addresses must not be mixed in.
            "modules/legacy/main.tf": base_main,
        },
    )
    git(r, "add", "-A")
    git(r, "commit", "-qm", "base")
    renamed_db = (module / "head" / "rds.tf").read_text()
    renamed_db = renamed_db.replace('"aws_db_instance" "orders"', '"aws_db_instance" "primary"')
    write(
        r,
        {
            "modules/network/main.tf": (module / "head" / "main.tf").read_text(),
            "modules/network/vpc-endpoints.tf": (module / "head" / "vpc-endpoints.tf").read_text(),
            "modules/network/rds.tf": renamed_db,
        },
    )
    git(r, "add", "-A")
    git(r, "commit", "-qm", "Split endpoints and the database out of main.tf")
    proc = run("analyze", "--repo", str(r), "--base", "HEAD~1", "--head", "HEAD")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    changes = sorted((c["op"], c["address"], c["file"], c["old_file"]) for c in report["changes"])
    assert changes == [
        ("rename", "aws_db_instance.primary", "modules/network/rds.tf", "modules/network/main.tf"),
        (
            "update",
            "aws_db_subnet_group.orders",
            "modules/network/rds.tf",
            "modules/network/main.tf",
        ),
    ]
    assert {c["facts"]["module_dir"] for c in report["changes"]} == {"modules/network"}
    assert not [f for f in report["findings"] if f["rule"].startswith("terraform.delete")]
    assert report["tier"] == 1
