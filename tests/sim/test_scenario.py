# githubkit declares list results inside classes that also have a method named `list`, so mypy
# sees `list?[Model]` (not iterable): silence only those two codes here.
# mypy: disable-error-code="attr-defined,index"
"""Scenarios: the shipped examples validate and play end to end against a stand-in App.

The stand-in is not Countersign: a ~40-line webhook handler with a trivial rule (success once two
distinct humans approved the current head) that answers each webhook by calling the simulator's
API back through githubkit, in synchronous delivery mode. It proves the full loop works —
webhook → API calls → check run → branch protection — without dead-locking.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from githubkit import AppAuthStrategy, GitHub
from githubkit.cache import MemCacheStrategy

from app.sim import scenario
from app.sim.hook_wire import signature_headers
from app.sim.server import SimServer
from app.sim.simulator import Simulator
from tests.sim.helpers import APP_ID, SECRET, AppKey

EVALUATE_ON = {
    ("pull_request", "opened"),
    ("pull_request", "synchronize"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "dismissed"),
    ("check_run", "rerequested"),
    ("check_run", "requested_action"),
}


class StandInApp:
    """Receives webhooks, checks the signature, and posts a `countersign` check run."""

    def __init__(self, key: AppKey) -> None:
        self.key = key
        self.api_url = ""
        self.errors: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/github"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = signature_headers(SECRET, body)["X-Hub-Signature-256"]
                status = 401 if self.headers["X-Hub-Signature-256"] != expected else 200
                if status == 200:
                    try:
                        app.handle(self.headers["X-GitHub-Event"], json.loads(body))
                    except Exception as exc:  # surfaced by the test, not swallowed
                        app.core.errors.append(repr(exc))
                        status = 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        return Handler

    def handle(self, event: str, payload: dict[str, Any]) -> None:
        if (event, payload.get("action")) not in EVALUATE_ON:
            return
        repo = payload["repository"]
        owner, name = repo["owner"]["login"], repo["name"]
        if event == "check_run":
            number = payload["check_run"]["pull_requests"][0]["number"]
        else:
            number = payload["pull_request"]["number"]
        gh = GitHub(
            AppAuthStrategy(APP_ID, self.key.private_pem).as_installation(
                payload["installation"]["id"]
            ),
            base_url=self.api_url + "/",
            http_cache=False,
            auto_retry=False,
            cache_strategy=MemCacheStrategy(),
        )
        pr = gh.rest.pulls.get(owner, name, number).parsed_data
        reviews = gh.rest.pulls.list_reviews(owner, name, number).parsed_data
        approvers = {
            r.user.login
            for r in reviews
            if r.user
            and r.user.type == "User"
            and r.state == "APPROVED"
            and r.commit_id == pr.head.sha
        }
        done = len(approvers) >= 2
        gh.rest.checks.create(
            owner,
            name,
            name="countersign",
            head_sha=pr.head.sha,
            status="completed",
            conclusion="success" if done else "action_required",
            output={"title": f"{len(approvers)} of 2 approvals", "summary": "stand-in"},
            actions=[{"label": "Re-evaluate", "description": "Again", "identifier": "reevaluate"}],
        )


@pytest.fixture(scope="module")
def stand_in(app_key: AppKey) -> Iterator[StandInApp]:
    app = StandInApp(app_key)
    app.thread.start()
    try:
        yield app
    finally:
        app.server.shutdown()
        app.server.server_close()
        app.thread.join(timeout=5)


@pytest.fixture
def live(app_key: AppKey, stand_in: StandInApp) -> Iterator[Simulator]:
    with Simulator(sync_webhooks=True) as sim:
        server = SimServer(sim)
        stand_in.api_url = server.start() + "/api/v3"
        stand_in.errors.clear()
        sim.set_app(APP_ID, app_key.public_pem, webhook_url=stand_in.url, webhook_secret=SECRET)
        try:
            yield sim
        finally:
            server.stop()
        assert stand_in.errors == []


@pytest.mark.parametrize("path", scenario.shipped(), ids=lambda p: p.stem)
def test_shipped_scenarios_play_end_to_end(live: Simulator, path: Path) -> None:
    loaded = scenario.load_file(path)
    played = scenario.run(live, loaded)
    assert len(played.lines) == len(loaded.steps)
    pr = played.pulls[-1]
    assert pr.merged is True
    assert all(d.ok for d in live.deliveries)
    if path.stem == "governance_bypass":
        assert pr.merge_bypassed is True
        assert played.lines[-2].startswith(f"merge of {pr.repo}#{pr.number} by bob refused")
    else:
        assert pr.merge_bypassed is False


def test_run_reports_the_failing_step_with_its_line(live: Simulator) -> None:
    text = """
name: wrong-expectation
setup:
  org: acme
  users: [alice]
  repos: {acme/app: {files: {a.txt: "1"}}}
  install: true
steps:
  - {op: open_pr, as: "alice", branch: x, title: t, files: {a.txt: "2"}}
  - {op: wait_check, conclusion: success, timeout: 0.3}
"""
    with pytest.raises(scenario.ScenarioError) as failed:
        scenario.run(live, scenario.load_scenario(text, "wrong.yaml"))
    assert failed.value.file == "wrong.yaml"
    assert failed.value.line == 10
    assert "last: completed/action_required (0 of 2 approvals)" in str(failed.value)


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("steps: []", "'steps' must be a non-empty list", 1),
        ("name: x\nsteps:\n  - {op: teleport}\n", "unknown op 'teleport'", 3),
        ("steps:\n  - {op: review, as: alice}\n", "step review needs ['state']", 2),
        ("steps:\n  - {op: merge, as: bob, force: true}\n", "does not take ['force']", 2),
        ("stepz: []\n", "unknown top-level key 'stepz'", 1),
        ("steps: [\n", "invalid YAML", None),
    ],
)
def test_bad_scenarios_name_file_line_and_fix(text: str, message: str, line: int | None) -> None:
    with pytest.raises(scenario.ScenarioError) as bad:
        scenario.load_scenario(text, "bad.yaml")
    assert message in bad.value.message
    assert bad.value.file == "bad.yaml"
    if line is not None:
        assert bad.value.line == line


def test_control_api_plays_a_scenario_and_runs_ops(live: Simulator) -> None:
    import httpx

    base = live.world.web_url
    text = (scenario.SCENARIOS_DIR / "pricing_approved.yaml").read_text()
    played = httpx.post(f"{base}/_sim/scenario", content=text, timeout=30)
    assert played.status_code == 200, played.text
    assert played.json()["steps"][-1].endswith("merged acme/shop#1")
    opened = httpx.post(
        f"{base}/_sim/ops/open_pr",
        json={
            "repo": "acme/shop",
            "author": "pricing-bot[bot]",
            "branch": "agent/control",
            "files": {"README.md": "# shop, again\n"},
            "title": "Docs",
        },
        timeout=30,
    )
    assert opened.status_code == 200, opened.text
    assert opened.json()["number"] == 2
    state = httpx.get(f"{base}/_sim/pulls/acme/shop/2").json()
    assert state["check_runs"][-1]["conclusion"] == "action_required"
    bad = httpx.post(f"{base}/_sim/ops/open_pr", json={"repo": "acme/shop"})
    assert bad.status_code == 422
    assert httpx.post(f"{base}/_sim/ops/format_disk", json={}).status_code == 404


def test_label_and_comment_steps_act_as_the_person_named(live: Simulator) -> None:
    text = """
name: break-glass-steps
setup:
  org: acme
  users: [alice, sam]
  repos: {acme/app: {files: {a.txt: "1"}}}
  install: true
steps:
  - {op: open_pr, as: alice, branch: x, title: t, files: {a.txt: "2"}}
  - {op: label, as: sam, name: countersign/break-glass}
  - {op: comment, as: sam, body: "/break-glass INC-1 site down"}
  - {op: unlabel, as: sam, name: countersign/break-glass}
"""
    played = scenario.run(live, scenario.load_scenario(text, "glass.yaml"))
    pr = played.pulls[-1]
    assert played.lines[1:] == [
        f"sam labelled acme/app#{pr.number} countersign/break-glass",
        f"sam commented on acme/app#{pr.number}",
        f"sam removed the label countersign/break-glass from acme/app#{pr.number}",
    ]
    assert [(e.event, e.actor) for e in live.world.issue_events] == [
        ("labeled", "sam"),
        ("unlabeled", "sam"),
    ]
    assert [c.body for c in live.comments_of(pr)] == ["/break-glass INC-1 site down"]
    assert pr.labels == []
