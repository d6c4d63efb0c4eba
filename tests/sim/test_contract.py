# githubkit declares list results inside classes that also have a method named `list`, so mypy
# sees `list?[Model]` (not iterable): silence only those two codes here.
# mypy: disable-error-code="attr-defined,index"
"""Contract: every simulated endpoint answers what githubkit's strict models accept.

Each call goes through a real githubkit client (App JWT → installation token) over HTTP on
loopback, and reads `.parsed_data`, which validates the whole response against the model for
that endpoint. A missing or mistyped field in the simulator fails here, not in an e2e test.
"""

from __future__ import annotations

import base64
from datetime import datetime

import pytest
from githubkit.exception import RequestFailed
from githubkit_schemas.latest import models as m

from tests.sim.helpers import APP_ID, FIXTURES, Env, read_tree


@pytest.fixture(scope="module")
def pr_number(env: Env) -> int:
    pr = env.open_pricing_pr("agent/contract")
    env.sim.review(pr, "alice", "APPROVED", body="Finance approves the new price.")
    env.sim.push(
        pr,
        {"infra/prod/db.tf": read_tree(FIXTURES / "shop-pr")["infra/prod/db.tf"]},
        message="Resize the database\n\nAgent-Run-Id: run_7f3a9c",
    )
    return int(pr.number)


def test_app_endpoints_parse_with_jwt(env: Env) -> None:
    gh = env.app_client()
    app = gh.rest.apps.get_authenticated().parsed_data
    assert isinstance(app, m.Integration)
    assert app.id == APP_ID
    installs = gh.rest.apps.list_installations().parsed_data
    assert [i.id for i in installs] == [env.installation_id]
    assert isinstance(installs[0], m.Installation)
    one = gh.rest.apps.get_installation(env.installation_id).parsed_data
    assert one.account is not None
    assert getattr(one.account, "login", None) == "acme"
    by_repo = gh.rest.apps.get_repo_installation("acme", "shop").parsed_data
    assert by_repo.id == env.installation_id


def test_access_token_expires_at_is_github_format(env: Env) -> None:
    gh = env.app_client()
    token = gh.rest.apps.create_installation_access_token(env.installation_id).parsed_data
    assert isinstance(token, m.InstallationToken)
    assert token.token.startswith("ghs_")
    datetime.strptime(token.expires_at, "%Y-%m-%dT%H:%M:%SZ")


def test_repository_and_pull_request_parse(env: Env, pr_number: int) -> None:
    gh = env.client()
    repo = gh.rest.repos.get("acme", "shop").parsed_data
    assert isinstance(repo, m.FullRepository)
    assert repo.default_branch == "main"
    pulls = gh.rest.pulls.list("acme", "shop", state="open").parsed_data
    assert pr_number in [p.number for p in pulls]
    pr = gh.rest.pulls.get("acme", "shop", pr_number).parsed_data
    assert isinstance(pr, m.PullRequest)
    assert pr.user.login == "infra-bot[bot]"
    assert pr.user.type == "Bot"
    assert pr.changed_files == 2
    assert pr.commits == 2
    assert pr.head.ref == "agent/contract"
    assert pr.body is not None
    assert "Agent-Run-Id: run_7f3a9c" in pr.body


def test_files_commits_reviews_parse(env: Env, pr_number: int) -> None:
    gh = env.client()
    files = gh.rest.pulls.list_files("acme", "shop", pr_number, per_page=100).parsed_data
    assert all(isinstance(f, m.DiffEntry) for f in files)
    by_name = {f.filename: f for f in files}
    assert set(by_name) == {"catalog/plans.json", "infra/prod/db.tf"}
    plans = by_name["catalog/plans.json"]
    assert plans.status == "modified"
    assert (plans.additions, plans.deletions) == (1, 1)
    assert isinstance(plans.patch, str)
    assert '+    {"plan_code": "pro-monthly"' in plans.patch
    commits = gh.rest.pulls.list_commits("acme", "shop", pr_number).parsed_data
    assert [c.commit.message.splitlines()[0] for c in commits] == [
        "Raise the Pro plan to $35",
        "Resize the database",
    ]
    assert commits[0].author is not None
    assert getattr(commits[0].author, "login", None) == "infra-bot[bot]"
    reviews = gh.rest.pulls.list_reviews("acme", "shop", pr_number).parsed_data
    assert [(r.user.login if r.user else None, r.state) for r in reviews] == [("alice", "APPROVED")]
    assert isinstance(reviews[0], m.PullRequestReview)
    assert reviews[0].commit_id == commits[0].sha


def test_contents_and_blob_parse(env: Env, pr_number: int) -> None:
    gh = env.client()
    pr = gh.rest.pulls.get("acme", "shop", pr_number).parsed_data
    content = gh.rest.repos.get_content(
        "acme", "shop", "catalog/plans.json", ref=pr.head.sha
    ).parsed_data
    assert isinstance(content, m.ContentFile)
    assert b'"monthly_usd": 35.0' in base64.b64decode(content.content)
    base = gh.rest.repos.get_content("acme", "shop", "catalog/plans.json", ref=pr.base.sha)
    assert isinstance(base.parsed_data, m.ContentFile)
    assert b'"monthly_usd": 29.0' in base64.b64decode(base.parsed_data.content)
    blob = gh.rest.git.get_blob("acme", "shop", content.sha).parsed_data
    assert isinstance(blob, m.Blob)
    assert base64.b64decode(blob.content) == base64.b64decode(content.content)
    with pytest.raises(RequestFailed) as missing:
        gh.rest.repos.get_content("acme", "shop", "no/such/file.txt", ref=pr.head.sha)
    assert missing.value.response.status_code == 404


def test_check_runs_parse(env: Env, pr_number: int) -> None:
    gh = env.client()
    pr = gh.rest.pulls.get("acme", "shop", pr_number).parsed_data
    created = gh.rest.checks.create(
        "acme",
        "shop",
        name="countersign",
        head_sha=pr.head.sha,
        status="in_progress",
        external_id="eval-1",
        details_url="http://countersign.local/evaluations/1",
        output={"title": "Evaluating…", "summary": "Countersign is evaluating this change."},
    ).parsed_data
    assert isinstance(created, m.CheckRun)
    assert [p.number for p in created.pull_requests] == [pr_number]
    updated = gh.rest.checks.update(
        "acme",
        "shop",
        created.id,
        status="completed",
        conclusion="action_required",
        output={
            "title": "Tier 2 · high · 1 of 2 approvals",
            "summary": "## Changes\n\n| file | op |\n|---|---|\n| catalog/plans.json | update |",
            "annotations": [
                {
                    "path": "catalog/plans.json",
                    "start_line": 5,
                    "end_line": 5,
                    "annotation_level": "warning",
                    "message": "pricing.price-increase: pro-monthly 29.0 → 35.0",
                }
            ],
        },
        actions=[{"label": "Re-evaluate", "description": "Evaluate again", "identifier": "reeval"}],
    ).parsed_data
    assert updated.conclusion == "action_required"
    assert updated.output.annotations_count == 1
    fetched = gh.rest.checks.get("acme", "shop", created.id).parsed_data
    assert fetched.status == "completed"
    listed = gh.rest.checks.list_for_ref(
        "acme", "shop", pr.head.sha, check_name="countersign"
    ).parsed_data
    assert listed.total_count == 1
    assert listed.check_runs[0].id == created.id
    notes = gh.rest.checks.list_annotations("acme", "shop", created.id).parsed_data
    assert [n.path for n in notes] == ["catalog/plans.json"]


def test_labels_reviewers_teams_users_parse(env: Env, pr_number: int) -> None:
    gh = env.client()
    labels = gh.rest.issues.add_labels(
        "acme", "shop", pr_number, labels=["countersign:tier-2", "countersign:pricing"]
    ).parsed_data
    assert [lb.name for lb in labels] == ["countersign:tier-2", "countersign:pricing"]
    left = gh.rest.issues.remove_label("acme", "shop", pr_number, "countersign:tier-2")
    assert [lb.name for lb in left.parsed_data] == ["countersign:pricing"]
    requested = gh.rest.pulls.request_reviewers(
        "acme", "shop", pr_number, reviewers=["bob"], team_reviewers=["finance"]
    ).parsed_data
    assert [u.login for u in requested.requested_reviewers or []] == ["bob"]
    assert [t.slug for t in requested.requested_teams or []] == ["finance"]
    full = gh.rest.pulls.get("acme", "shop", pr_number).parsed_data
    assert [lb.name for lb in full.labels] == ["countersign:pricing"]
    members = gh.rest.teams.list_members_in_org("acme", "finance").parsed_data
    assert [u.login for u in members] == ["alice", "carol"]
    assert all(isinstance(u, m.TeamMember) for u in members)
    membership = gh.rest.teams.get_membership_for_user_in_org("acme", "platform", "bob")
    assert isinstance(membership.parsed_data, m.TeamMembership)
    assert membership.parsed_data.role == "maintainer"
    user = gh.rest.users.get_by_username("alice").parsed_data
    assert user.login == "alice"
    assert user.name == "Alice Liddell"


def test_merge_parses_after_a_passing_check(env: Env) -> None:
    pr = env.open_pricing_pr("agent/contract-merge")
    gh = env.client()
    gh.rest.checks.create(
        "acme",
        "shop",
        name="countersign",
        head_sha=pr.head_sha,
        status="completed",
        conclusion="success",
        output={"title": "Tier 0", "summary": "Nothing to approve."},
    )
    with env.merging_client() as merger:
        merged_by_api = merger.rest.pulls.merge("acme", "shop", pr.number, merge_method="merge")
    result = merged_by_api.parsed_data
    assert isinstance(result, m.PullRequestMergeResult)
    assert result.merged is True
    response = gh.rest.pulls.get("acme", "shop", pr.number)
    merged = response.parsed_data
    assert merged.merged is True
    assert merged.merged_by is not None
    assert merged.merged_by.login == "countersign[bot]"
    raw: dict[str, object] = response.raw_response.json()
    assert raw["merge_commit_sha"] == result.sha
    repo = env.sim.world.repo("acme/shop")
    assert repo is not None
    assert repo.branches["main"] == result.sha


def test_hook_deliveries_parse_and_redeliver(env: Env, pr_number: int) -> None:
    gh = env.app_client()
    items = gh.rest.apps.list_webhook_deliveries(per_page=100).parsed_data
    assert items
    assert all(isinstance(i, m.HookDeliveryItem) for i in items)
    opened = next(i for i in items if i.event == "pull_request" and i.action == "opened")
    assert opened.installation_id == env.installation_id
    detail = gh.rest.apps.get_webhook_delivery(opened.id).parsed_data
    assert isinstance(detail, m.HookDelivery)
    response = gh.rest.apps.redeliver_webhook_delivery(opened.id)
    assert response.status_code == 202


def test_graphql_blob_batch(env: Env, pr_number: int) -> None:
    gh = env.client()
    pr = env.sim.pr(f"acme/shop#{pr_number}")
    query = (
        'query { repository(owner: "acme", name: "shop") { '
        f'f0: object(expression: "{pr.base_sha}:catalog/plans.json") '
        "{ ... on Blob { text isBinary byteSize oid } } "
        f'f1: object(expression: "{pr.head_sha}:logo.png") '
        "{ ... on Blob { text isBinary byteSize oid } } "
        f'f2: object(expression: "{pr.base_sha}:.github/CODEOWNERS.missing") '
        "{ ... on Blob { text isBinary byteSize oid } } } }"
    )
    data = gh.graphql(query)
    objects = data["repository"]
    assert '"monthly_usd": 29.0' in objects["f0"]["text"]
    assert objects["f0"]["isBinary"] is False
    assert objects["f1"] == {
        "text": None,
        "isBinary": True,
        "byteSize": 33,
        "oid": objects["f1"]["oid"],
    }
    assert objects["f2"] is None


def test_unlinked_commit_author_is_null_and_parses(env: Env) -> None:
    pr = env.open_pricing_pr(
        "agent/unlinked", commit_author="build-agent <agent@runner-3.internal>"
    )
    gh = env.client()
    commits = gh.rest.pulls.list_commits("acme", "shop", pr.number).parsed_data
    assert commits[0].author is None and commits[0].committer is None
    assert commits[0].commit.author is not None
    assert commits[0].commit.author.email == "agent@runner-3.internal"


def test_fork_pull_request_parses(env: Env) -> None:
    pr = env.open_pricing_pr("patch-fork", fork_owner="alice")
    gh = env.client()
    data = gh.rest.pulls.get("acme", "shop", pr.number).parsed_data
    assert data.head.repo is not None and data.head.repo.full_name == "alice/shop"
    assert data.head.repo.fork is True and data.base.repo.fork is False
