"""What the Terraform plan end-to-end tests share: the repository, its plans, posting, waiting."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.demo.stack import LocalStack

REPO = "acme/platform"
PLAN_WORKFLOW = ".github/workflows/plan.yml"
MAIN_TF = """module "db" {
  source  = "terraform-aws-modules/rds/aws"
  version = "6.10.0"

  identifier     = "orders"
  engine         = "mysql"
  engine_version = "8.0.35"
  instance_class = "db.r6g.large"
}
"""
SETUP = {
    "org": "acme",
    "users": ["bob", "carol", {"login": "infra-bot[bot]", "type": "Bot"}],
    "teams": {"platform": ["bob"], "security": ["carol"]},
    "repos": {
        REPO: {
            "admins": ["carol"],
            "files": {
                "infra/prod/main.tf": MAIN_TF,
                ".github/CODEOWNERS": "* @acme/platform\n",
                ".github/countersign.yml": (
                    'paths:\n  "infra/prod/**": {environment: production}\n'
                    "terraform:\n"
                    "  plans: required\n"
                    "  dirs: ['infra/*']\n"
                    f"  plan_workflows: [{PLAN_WORKFLOW}]\n"
                    "approvers:\n"
                    '  terraform: ["@acme/platform"]\n'
                    '  change_board: ["@acme/security"]\n'
                ),
            },
        }
    },
    "install": True,
}


def replace_plan(secret: str = "hunter2-plan-secret") -> dict[str, Any]:
    return {
        "format_version": "1.2",
        "terraform_version": "1.9.8",
        "variables": {"db_password": {"value": secret}},
        "resource_changes": [
            {
                "address": "module.db.aws_db_instance.this[0]",
                "module_address": "module.db",
                "mode": "managed",
                "type": "aws_db_instance",
                "name": "this",
                "index": 0,
                "change": {
                    "actions": ["delete", "create"],
                    "before": {"engine": "mysql", "identifier": "orders", "password": secret},
                    "after": {"engine": "postgres", "identifier": "orders", "password": secret},
                    "after_unknown": {"id": True, "endpoint": True},
                    "before_sensitive": {"password": True},
                    "after_sensitive": {"password": True},
                    "replace_paths": [["engine"]],
                },
                "action_reason": "replace_because_cannot_update",
            }
        ],
        "errored": False,
        "complete": True,
    }


def latest(stack: LocalStack, pr: Any) -> Any:
    return stack.sim.latest_check(pr)


def wait_check(stack: LocalStack, pr: Any, sha: str, conclusion: str, title: str) -> Any:
    """The completed check of exactly this head, with this conclusion and title start."""

    def done() -> bool:
        run = latest(stack, pr)
        return (
            run is not None
            and run.head_sha == sha
            and run.status == "completed"
            and run.conclusion == conclusion
            and run.title.startswith(title)
        )

    try:
        stack.sim.wait_for(done, 30, f"{conclusion} {title!r} on {sha[:7]}")
    except TimeoutError:
        run = latest(stack, pr)
        pytest.fail(f"last check: {run and (run.head_sha[:7], run.conclusion, run.title)}")
    return latest(stack, pr)


def post(stack: LocalStack, sha: str, token: str, body: Any, repo: str = REPO) -> httpx.Response:
    return httpx.post(
        f"{stack.url}/api/plans/{repo}/{sha}",
        headers={"Authorization": f"Bearer {token}"} if token else {},
        content=json.dumps(body),
        timeout=30,
    )


def update_plan() -> dict[str, Any]:
    """The same database, updated in place: what a forged second plan would claim."""
    plan = replace_plan()
    change = plan["resource_changes"][0]["change"]
    change["actions"] = ["update"]
    change["after"] = {**change["before"], "instance_class": "db.r6g.xlarge"}
    del change["replace_paths"]
    del plan["resource_changes"][0]["action_reason"]
    return plan
