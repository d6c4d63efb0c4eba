"""Route templates: GitHub's own, and every call the client makes is one span named by one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from app.github.deployments import answer_protection_rule, merged_pull_of
from app.github.routes import TEMPLATES, UNKNOWN, route_template
from app.runtime import telemetry
from tests.github.conftest import Hub

REPO = "acme/platform"
OPERATIONS = Path(__file__).resolve().parents[1] / "specs/github/openapi/operations.txt"


def test_every_template_is_a_path_of_githubs_rest_description() -> None:
    paths = {line.split(" ")[1] for line in OPERATIONS.read_text().splitlines() if line}
    rest = [t for t in TEMPLATES if t != "/graphql"]
    assert [t for t in rest if t not in paths] == []


@pytest.mark.parametrize(
    ("url", "api_path", "template"),
    [
        ("/repos/acme/platform/pulls/7", "", "/repos/{owner}/{repo}/pulls/{pull_number}"),
        (
            "/repos/acme/platform/pulls/7/files",
            "",
            "/repos/{owner}/{repo}/pulls/{pull_number}/files",
        ),
        ("/repos/acme/platform/pulls", "", "/repos/{owner}/{repo}/pulls"),
        ("/repos/acme/p/compare/abc1234...def5678", "", "/repos/{owner}/{repo}/compare/{basehead}"),
        (
            "/repos/acme/p/issues/3/labels/countersign%3Atier-2",
            "",
            "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}",
        ),
        (
            "/api/v3/repos/acme/p/check-runs/99",
            "/api/v3",
            "/repos/{owner}/{repo}/check-runs/{check_run_id}",
        ),
        ("http://127.0.0.1:8080/api/graphql", "/api/v3", "/graphql"),
        ("/graphql", "", "/graphql"),
        ("/app/hook/deliveries/12/attempts", "", "/app/hook/deliveries/{delivery_id}/attempts"),
        ("/orgs/acme/teams/finance/members", "", "/orgs/{org}/teams/{team_slug}/members"),
        ("/repos/acme/platform/pulls/7/files/extra", "", UNKNOWN),
        ("/user", "", UNKNOWN),
    ],
)
def test_route_template_of_a_call(url: str, api_path: str, template: str) -> None:
    assert route_template(url, api_path) == template


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with telemetry.installed(provider):
        yield exporter
    provider.shutdown()


def test_each_client_call_is_one_client_span_with_method_template_and_status(
    hub: Hub, spans: InMemorySpanExporter
) -> None:
    pr = hub.sim.open_pr(REPO, "alice", "docs", {"README.md": "# platform\nmore\n"}, title="Docs")
    client = hub.client()
    client.pull(REPO, pr.number)
    client.pull_files(REPO, pr.number)
    client.pull_commits(REPO, pr.number)
    client.pull_reviews(REPO, pr.number)
    client.compare_commits(REPO, pr.base_sha, pr.head_sha)
    client.open_pulls(REPO)
    client.blobs(REPO, [(pr.head_sha, "README.md")])
    run = client.create_check_run(REPO, {"name": "countersign", "head_sha": pr.head_sha})
    client.update_check_run(REPO, int(run["id"]), {"status": "in_progress"})
    client.check_runs_for(REPO, pr.head_sha, "countersign")
    client.add_labels(REPO, pr.number, ["countersign:tier-1"])
    client.remove_label(REPO, pr.number, "countersign:tier-1")
    client.remove_label(REPO, pr.number, "never-added")  # GitHub's 404, tolerated
    client.request_reviewers(REPO, pr.number, [], [])
    client.team_members("acme/no-such-team")  # a 404 the client turns into "no members"
    client.installation_repositories()
    hub.sim.deployments.add_environment(REPO, "production")
    deployment = hub.sim.deployments.deploy(REPO, "production", by="alice")
    assert merged_pull_of(client, REPO, deployment.sha) is None
    answer_protection_rule(client, REPO, deployment.run_id, "production", "approved", "ok")
    app_client = hub.app().app_client()
    app_client.installations()
    app_client.hook_deliveries()
    app_client.json("GET", f"/repos/{REPO}/installation")

    finished = spans.get_finished_spans()
    assert all(s.kind is SpanKind.CLIENT for s in finished)
    logged = client.log.calls + app_client.log.calls
    assert len(finished) == len(logged)
    names = {s.name.split(" ", 1)[1] for s in finished}
    # Every template but a redelivery and a REST blob read (files over GraphQL's 512,000 bytes).
    assert names == set(TEMPLATES) - {
        "/app/hook/deliveries/{delivery_id}/attempts",
        "/repos/{owner}/{repo}/git/blobs/{file_sha}",
    }
    by_name = {s.name: s for s in finished}
    tolerated = [
        s
        for s in finished
        if s.name == "DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}"
        and (s.attributes or {})[telemetry.HTTP_STATUS] == 404
    ]
    assert [s.status.status_code for s in tolerated] == [StatusCode.UNSET]
    team = by_name["GET /orgs/{org}/teams/{team_slug}/members"]
    assert (team.attributes or {})[telemetry.HTTP_STATUS] == 404
    assert team.status.status_code is StatusCode.ERROR
    assert (team.attributes or {})[telemetry.ERROR_TYPE] == "GitHubError"
    pull = by_name["GET /repos/{owner}/{repo}/pulls/{pull_number}"]
    assert dict(pull.attributes or {}) == {
        telemetry.HTTP_METHOD: "GET",
        telemetry.URL_TEMPLATE: "/repos/{owner}/{repo}/pulls/{pull_number}",
        telemetry.SERVER_ADDRESS: "127.0.0.1",
        telemetry.HTTP_STATUS: 200,
    }
