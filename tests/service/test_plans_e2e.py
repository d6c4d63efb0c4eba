"""Terraform plans end to end: PR opened → waiting for the plan → plan posted with a GitHub
Actions OIDC token → tier 3 → approvals → success → merge recorded with the plan digest.

The simulator is the OIDC issuer (its JWKS served over HTTP, tokens signed with its key), so the
App fetches real keys and checks real signatures; nothing is switched off for the test.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import rsa

from app.demo.stack import LocalStack
from app.sim.oidc import issuer_for
from app.sim.scenario import apply_setup
from app.store.audit.evidence import build_packet
from app.store.audit.export import export_merges
from app.store.audit.verify import verify_chain
from app.store.tables import PLANS
from tests.service._plans import MAIN_TF, REPO, SETUP, post, replace_plan, wait_check
from tests.stacks import fresh, local_stack, session_key_pair

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def running(module_db_url: str) -> Iterator[LocalStack]:
    with local_stack(module_db_url) as s:
        yield s


@pytest.fixture
def stack(running: LocalStack) -> LocalStack:
    return fresh(running, SETUP)


def test_plan_flow_from_waiting_to_audited_merge(stack: LocalStack) -> None:
    sim = stack.sim
    issuer = issuer_for(sim)
    pr = sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/orders-pg",
        {"infra/prod/main.tf": MAIN_TF.replace('"mysql"', '"postgres"')},
        title="Move orders to PostgreSQL",
        body="Engine swap.\n\nAgent-Run-Id: run_tf_1",
    )
    head = pr.head_sha
    wait_check(
        stack, pr, head, "action_required", f"Waiting for the plan of infra/prod at {head[:7]}"
    )

    body = {"dir": "infra/prod", "plan": replace_plan()}
    other_repo = issuer.token("acme/other", head)
    assert post(stack, head, other_repo, body).status_code == 403
    assert post(stack, head, issuer.token(REPO, "0" * 40), body).status_code == 403
    forged = issuer.token(
        REPO, head, key=rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    assert post(stack, head, forged, body).status_code == 401
    assert post(stack, head, issuer.token(REPO, head, audience="other"), body).status_code == 401
    assert post(stack, head, "", body).status_code == 401
    assert (
        post(
            stack, head, issuer.token(REPO, head, pr=pr.number), {"dir": "infra/prod", "plan": {}}
        ).status_code
        == 400
    )
    not_json = {"dir": "infra/prod", "plan": {**replace_plan(), "errored": float("nan")}}
    refused = post(
        stack, head, issuer.token(REPO, head, pr=pr.number), not_json
    )  # json.dumps writes NaN
    assert refused.status_code == 400 and "not JSON" in refused.text

    accepted = post(stack, head, issuer.token(REPO, head, pr=pr.number), body)
    assert accepted.status_code == 202, accepted.text
    digest = accepted.json()["sha256"]
    run = wait_check(stack, pr, head, "action_required", "Tier 3")
    assert "replace-stateful" in run.summary
    assert "hunter2" not in run.summary and "hunter2" not in run.title

    sim.review(pr, "bob", "APPROVED")
    sim.review(pr, "carol", "APPROVED")
    wait_check(stack, pr, head, "success", "Tier 3")
    sim.merge(pr, by="bob")

    def merged() -> list[dict[str, Any]]:
        lines = [json.loads(x) for x in export_merges(stack.runtime.engine)]  # type: ignore[union-attr]
        return [r for r in lines if r.get("pr") == pr.number]

    sim.wait_for(lambda: bool(merged()), 20, "the merge record")
    record = merged()[0]
    assert record["plans"] == {"infra/prod": digest}
    packet = build_packet(stack.runtime.engine, REPO, pr.number)  # type: ignore[union-attr]
    assert packet.base_sha == pr.base_sha and packet.plans == {"infra/prod": digest}
    assert record["bypass"] is False
    exported = "\n".join(export_merges(stack.runtime.engine))  # type: ignore[union-attr]
    assert "hunter2" not in exported
    report = httpx.get(
        f"{stack.url}/api/reports/{REPO}/{pr.number}",
        headers={"Authorization": f"Bearer {stack.audit_token}"},
        timeout=30,
    )
    assert report.status_code == 200 and "replace-stateful" in report.text
    assert "hunter2" not in report.text
    with stack.runtime.engine.connect() as conn:  # type: ignore[union-attr]
        stored = [zlib.decompress(row[0]) for row in conn.execute(sa.select(PLANS.c.plan))]
    assert stored and all(b"hunter2" not in blob for blob in stored)
    assert all(b'"variables"' not in blob for blob in stored)
    assert verify_chain(stack.runtime.engine).ok  # type: ignore[union-attr]


def test_a_plan_for_an_old_head_is_not_used_for_the_new_one(stack: LocalStack) -> None:
    sim = stack.sim
    issuer = issuer_for(sim)
    pr = sim.open_pr(
        REPO,
        "infra-bot[bot]",
        "agent/orders-pg-2",
        {"infra/prod/main.tf": MAIN_TF.replace('"mysql"', '"postgres"')},
        title="Move orders to PostgreSQL",
        body="Engine swap.\n\nAgent-Run-Id: run_tf_2",
    )
    first = pr.head_sha
    wait_check(stack, pr, first, "action_required", "Waiting for the plan")
    assert (
        post(
            stack,
            first,
            issuer.token(REPO, first, pr=pr.number),
            {"dir": "infra/prod", "plan": replace_plan()},
        ).status_code
        == 202
    )
    wait_check(stack, pr, first, "action_required", "Tier 3")
    second = sim.push(
        pr,
        {"infra/prod/main.tf": MAIN_TF.replace('"mysql"', '"postgres"').replace("8.0.35", "16.3")},
        message="Pin the version\n\nAgent-Run-Id: run_tf_2",
    )
    wait_check(
        stack, pr, second, "action_required", f"Waiting for the plan of infra/prod at {second[:7]}"
    )
    # The old head's token cannot post for the new head either.
    assert (
        post(
            stack,
            second,
            issuer.token(REPO, first, pr=pr.number),
            {"dir": "infra/prod", "plan": replace_plan()},
        ).status_code
        == 403
    )


def test_upload_tokens_and_the_size_cap(db_url: str) -> None:
    token = "upl_" + "x" * 40
    with LocalStack(
        db_url, key_pair=session_key_pair(), plan_upload_tokens={REPO: token}, max_plan_bytes=4096
    ) as stack:
        apply_setup(stack.sim, SETUP)
        stack.sim.wait_idle()
        sha = "a" * 40
        small = {"dir": "infra/prod", "plan": {"format_version": "1.2", "resource_changes": []}}
        assert post(stack, sha, token, small).status_code == 202
        assert post(stack, sha, token[:-1] + "y", small).status_code == 401
        assert post(stack, sha, token, small, repo="acme/other").status_code == 401
        big = {"dir": "infra/prod", "plan": {**replace_plan(), "pad": "x" * 5000}}
        assert post(stack, sha, token, big).status_code == 413
