"""End to end: an agent PR that sends alerts to a webhook outside the repository's allowlist.

The real service (uvicorn on loopback) against the GitHub simulator: the allowlist is read from
the base branch's `.github/countersign.yml`, the finding reaches the check run's text and its
annotations, and the PR needs two-person review.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo.stack import LocalStack
from app.store.audit.store import events_for_pr
from tests.stacks import fresh, local_stack

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "destinations"
REPO = "acme/observability"
CONFIG = """\
approvers:
  change_board: ["@acme/security"]
allowlists:
  destinations: ["*.acme.com", events.pagerduty.com, acme.com]
  registries: [ghcr.io/acme]
"""
SETUP = {
    "org": "acme",
    "users": ["alice", "bob", "carol", {"login": "infra-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["alice", "bob"], "security": ["carol"]},
    "repos": {
        REPO: {
            "admins": ["carol"],
            "files": {
                "README.md": "# observability\n",
                ".github/CODEOWNERS": "* @acme/platform\n/.github/ @acme/security\n",
                ".github/countersign.yml": CONFIG,
                "monitoring/alertmanager.yml": (FIXTURES / "alertmanager_base.yml").read_text(),
            },
        }
    },
    "install": True,
}


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def completed(stack: LocalStack, pr: object) -> object:
    def done() -> bool:
        run = stack.sim.latest_check(pr)  # type: ignore[arg-type]
        return run is not None and run.status == "completed"

    stack.sim.wait_for(done, 30, "the check run to complete")
    return stack.sim.latest_check(pr)  # type: ignore[arg-type]


def test_agent_webhook_outside_the_allowlist_needs_two_person_review(stack: LocalStack) -> None:
    pr = stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/partner-alerts",
        {"monitoring/alertmanager.yml": (FIXTURES / "alertmanager_head.yml").read_text()},
        title="Route payments alerts to the partner's monitoring",
        body="Partner asked for a copy of payment alerts.\n\nAgent-Run-Id: run_alerts_42",
    )
    run = completed(stack, pr)
    assert run.conclusion == "action_required"  # type: ignore[attr-defined]
    assert run.title.startswith("Tier 2")  # type: ignore[attr-defined]
    summary = run.summary  # type: ignore[attr-defined]
    assert "allowlist.destination" in summary
    assert (
        "destination ingest.partner-monitoring.example.com not in allowlists.destinations"
        in summary
    )
    assert "destination partner-support.example.com not in allowlists.destinations" in summary
    notes = [a for a in run.annotations if "allowlists.destinations" in str(a["message"])]  # type: ignore[attr-defined]
    assert {a["path"] for a in notes} == {"monitoring/alertmanager.yml"}
    assert len(notes) == 2

    # The evaluation recorded in the audit store carries the finding too.
    def recorded() -> bool:
        events = events_for_pr(stack.runtime.engine, REPO, pr.number, kinds=("evaluation",))  # type: ignore[union-attr, attr-defined]
        return bool(events) and "allowlist.destination" in str(events[-1].data())

    stack.sim.wait_for(recorded, 20, "the evaluation event")


def test_an_allowlisted_webhook_stays_at_the_config_tier(stack: LocalStack) -> None:
    head = (FIXTURES / "alertmanager_head.yml").read_text()
    head = head.replace("ingest.partner-monitoring.example.com", "alerts.acme.com").replace(
        "shop-escalations@partner-support.example.com", "shop-escalations@acme.com"
    )
    pr = stack.sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/team-alerts",
        {"monitoring/alertmanager.yml": head},
        title="Route payments alerts to the payments hook",
        body="Payments team wants its own hook.\n\nAgent-Run-Id: run_alerts_43",
    )
    run = completed(stack, pr)
    assert run.title.startswith("Tier 1")  # type: ignore[attr-defined]
    assert "allowlist.destination" not in run.summary  # type: ignore[attr-defined]
