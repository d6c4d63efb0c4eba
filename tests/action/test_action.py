"""action.yml's own scripts, run locally: preflight on a real git checkout with a fake job summary,
and plan mode posting to the app on 127.0.0.1 with a simulator-minted OIDC token."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from app import __version__
from app.demo.stack import LocalStack
from app.sim.oidc import issuer_for
from tests.action._runner import Runner, load_action
from tests.service._plans import MAIN_TF, REPO, SETUP, replace_plan, wait_check
from tests.stacks import fresh, local_stack

BIN = str(Path(sys.executable).parent)  # this venv's `countersign` stands in for the install step
CATALOG = '{"plans": [{"plan_code": "pro", "monthly_usd": 49.0}]}\n'
CONFIG = (
    'paths:\n  "catalog/**.json": {kind: pricing, key: plan_code, price_fields: [monthly_usd]}\n'
)


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "a",
           "GIT_COMMITTER_EMAIL": "a@x"}  # fmt: skip
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def checkout(tmp_path: Path) -> tuple[Path, str, str]:
    repo = tmp_path / "work"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    base = commit(repo, {"catalog/plans.json": CATALOG, ".github/countersign.yml": CONFIG}, "base")
    head = commit(
        repo, {"catalog/plans.json": CATALOG.replace("49.0", "29.0")}, "cut\n\nAgent-Run-Id: run_1"
    )
    return repo, base, head


def pull_request_context(workspace: Path, base: str, head: str) -> dict[str, Any]:
    return {
        "workspace": str(workspace),
        "repository": "acme/shop",
        "action_path": str(Path(__file__).resolve().parents[2]),
        "event": {
            "pull_request": {
                "base": {"sha": base},
                "head": {"sha": head},
                "user": {"login": "pricing-bot[bot]"},
            }
        },
    }


def test_the_action_pins_this_version_and_keeps_expressions_out_of_scripts() -> None:
    action = load_action()
    assert action["runs"]["using"] == "composite"
    steps = {s["id"]: s for s in action["runs"]["steps"]}
    assert steps["install"]["env"]["COUNTERSIGN_VERSION"] == __version__
    for step in steps.values():
        assert "${{" not in step["run"], f"{step['id']}: pass values through env:, not the script"


def test_preflight_writes_the_summary_outputs_and_sarif(
    tmp_path: Path, checkout: tuple[Path, str, str]
) -> None:
    repo, base, head = checkout
    runner = Runner(tmp_path, {"mode": "preflight"}, pull_request_context(repo, base, head),
                    env={"PATH": f"{BIN}:{os.environ['PATH']}"})  # fmt: skip
    assert runner.run("plan") is None  # the other mode's step is skipped
    step = runner.run("preflight")
    assert step is not None and step.returncode == 0, step.stderr
    assert step.outputs["tier"] == "2"
    report = json.loads(Path(step.outputs["report-json"]).read_text())
    assert report["agent"]["id"] == "pricing-bot"
    summary = runner.summary.read_text()
    assert summary.startswith("### Countersign: Tier 2")
    assert "`pricing.large-change`" in summary and "Run ID | run\\_1" in summary
    # The SARIF comes from the same evaluation as the summary and the JSON (one analyze run).
    sarif = json.loads(Path(step.outputs["sarif-file"]).read_text())
    assert sarif["version"] == "2.1.0"
    [run] = sarif["runs"]
    assert {r["ruleId"] for r in run["results"]} >= {"pricing.large-change"}
    (tmp_path / "plain").mkdir()
    no_sarif = Runner(tmp_path / "plain", {"mode": "preflight", "sarif": "false"}, runner.github,
                      env={"PATH": f"{BIN}:{os.environ['PATH']}"})  # fmt: skip
    plain = no_sarif.run("preflight")
    assert plain is not None and plain.returncode == 0, plain.stderr
    assert "sarif-file" not in plain.outputs and plain.outputs["tier"] == "2"


def test_preflight_without_a_pull_request_fails_clearly(tmp_path: Path) -> None:
    runner = Runner(tmp_path, {"mode": "preflight"}, {"workspace": str(tmp_path), "event": {}},
                    env={"PATH": f"{BIN}:{os.environ['PATH']}"})  # fmt: skip
    step = runner.run("preflight")
    assert step is not None and step.returncode == 1
    assert "::error::no base/head" in step.stdout


class _TokenService(BaseHTTPRequestHandler):
    """The runner's token request service (ACTIONS_ID_TOKEN_REQUEST_URL) for one job."""

    request_token = "runner-request-token"
    mint: Any = None

    def do_GET(self) -> None:
        audience = parse_qs(urlparse(self.path).query).get("audience", [""])[0]
        if self.headers.get("Authorization") != f"bearer {self.request_token}":
            self.send_response(401)
            self.end_headers()
            return
        body = json.dumps({"value": type(self).mint(audience)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def token_service() -> Iterator[tuple[str, type[_TokenService]]]:
    handler = type("Service", (_TokenService,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/token?api-version=2.0", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


def fake_terraform(tmp_path: Path, plan: dict[str, Any]) -> str:
    """`terraform show -json plan.out` prints `plan` (Terraform itself is not installed here)."""
    bin_dir = tmp_path / "tf-bin"
    bin_dir.mkdir()
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    script = bin_dir / "terraform"
    script.write_text(
        '#!/bin/sh\n[ "$1 $2 $3" = "show -json plan.out" ] || { echo "unexpected: $*" >&2; exit 2; }\n'
        f'cat "{tmp_path / "plan.json"}"\n'
    )
    script.chmod(0o755)
    return str(bin_dir)


@pytest.mark.e2e
def test_plan_mode_posts_with_the_jobs_oidc_token(
    running: LocalStack, tmp_path: Path, token_service: tuple[str, type[_TokenService]]
) -> None:
    stack = fresh(running, SETUP)
    issuer = issuer_for(stack.sim)
    pr = stack.sim.open_pr(REPO, "infra-bot[bot]", "agent/pg", {"infra/prod/main.tf": MAIN_TF.replace('"mysql"', '"postgres"')},
                           title="Move orders to PostgreSQL", body="x\n\nAgent-Run-Id: r1")  # fmt: skip
    wait_check(stack, pr, pr.head_sha, "action_required", "Waiting for the plan")
    url, service = token_service
    service.mint = lambda audience: issuer.for_pull_request(REPO, pr, aud=audience)
    workspace = tmp_path / "ws"
    (workspace / "infra/prod").mkdir(parents=True)
    github = {"workspace": str(workspace), "repository": REPO,
              "event": {"pull_request": {"head": {"sha": pr.head_sha}}}}  # fmt: skip
    path = f"{fake_terraform(tmp_path, replace_plan())}:{os.environ['PATH']}"
    job = {"PATH": path, "ACTIONS_ID_TOKEN_REQUEST_URL": url,
           "ACTIONS_ID_TOKEN_REQUEST_TOKEN": service.request_token}  # fmt: skip
    inputs = {"mode": "plan", "url": stack.url, "working-directory": "infra/prod"}
    runner = Runner(tmp_path, inputs, github, env=job)
    assert runner.run("preflight") is None
    step = runner.run("plan")
    assert step is not None and step.returncode == 0, step.stdout + step.stderr
    assert len(step.outputs["plan-sha256"]) == 64
    wait_check(stack, pr, pr.head_sha, "action_required", "Tier 3")  # the plan counted

    wrong = Runner(tmp_path, {**inputs, "audience": "someone-else"}, github, env=job).run("plan")
    assert wrong is not None and wrong.returncode == 1
    assert "Countersign refused the plan (401)" in wrong.stdout
    no_oidc = Runner(tmp_path, inputs, github, env={"PATH": path}).run("plan")
    assert no_oidc is not None and no_oidc.returncode == 1
    assert "id-token: write" in no_oidc.stdout
