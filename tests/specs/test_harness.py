"""The spec checker itself: it reports what GitHub would refuse, with endpoint, pointer and message,
and the vendored descriptions are the pinned, licensed, trimmed copies the script writes."""

from __future__ import annotations

import copy
import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.sim import shapes_pull
from app.sim.simulator import Simulator
from app.sim.taps import Exchange, SentWebhook
from app.sim.webhooks import pull_request_event
from tests.specs import descriptions
from tests.specs.descriptions import ROOT, nullable_to_json_schema
from tests.specs.traffic import check_exchange, check_graphql, check_webhook, shape

SCRIPT = Path(__file__).parents[2] / "scripts" / "vendor-github-specs.py"


@pytest.fixture(scope="module")
def world_pr() -> Iterator[tuple[Simulator, Any]]:
    with Simulator() as sim:
        sim.add_org("acme")
        sim.add_user("infra-bot[bot]")
        sim.create_repo("acme/shop", {"README.md": "# shop\n"})
        pr = sim.open_pr(
            "acme/shop", "infra-bot[bot]", "agent/x", {"README.md": "# shop!\n"}, title="Docs"
        )
        yield sim, pr


def exchange(method: str, path: str, status: int, body: Any, request: Any = None) -> Exchange:
    return Exchange(
        method,
        path,
        "",
        status,
        "application/json; charset=utf-8",
        json.dumps(request).encode() if request is not None else b"",
        json.dumps(body).encode(),
    )


def test_nullable_becomes_a_null_alternative() -> None:
    assert nullable_to_json_schema({"type": "string", "nullable": True}) == {
        "type": ["string", "null"]
    }
    assert nullable_to_json_schema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    assert nullable_to_json_schema({"allOf": [{"$ref": "#/x"}], "nullable": True}) == {
        "anyOf": [{"allOf": [{"$ref": "#/x"}]}, {"type": "null"}]
    }
    # A property *named* nullable is data, not the keyword.
    schema = {"type": "object", "properties": {"nullable": {"type": "boolean"}}}
    assert nullable_to_json_schema(schema) == schema


def test_a_wrong_response_names_endpoint_pointer_and_message(
    world_pr: tuple[Simulator, Any],
) -> None:
    sim, pr = world_pr
    good = shapes_pull.pull_request(sim.world, pr)
    assert check_exchange(exchange("GET", "/repos/acme/shop/pulls/1", 200, good)) == []
    bad = copy.deepcopy(good)
    del bad["head"]
    bad["user"]["id"] = "1001"
    found = [str(v) for v in check_exchange(exchange("GET", "/repos/acme/shop/pulls/1", 200, bad))]
    assert any(
        v.startswith("GET /repos/acme/shop/pulls/1 > 200 (pulls/get, GET /repos/{owner}/{repo}/")
        and 'at /: "head" is a required property' in v
        for v in found
    ), found
    assert any('at /user/id: "1001" is not of type "integer"' in v for v in found), found


def test_status_github_never_sends_and_error_shapes() -> None:
    found = check_exchange(exchange("POST", "/repos/acme/shop/check-runs", 200, {}))
    assert "GitHub declares ['201'] for checks/create, never this" in str(found[0])
    error = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}
    assert check_exchange(exchange("GET", "/repos/acme/shop/pulls/9", 404, error)) == []
    found = check_exchange(exchange("GET", "/repos/acme/shop/pulls/9", 404, {"message": 404}))
    assert 'at /message: 404 is not of type "string"' in str(found[0])


def test_a_request_body_github_refuses_is_reported_when_the_simulator_accepted_it() -> None:
    body = {"name": "countersign", "head_sha": "abc", "status": "pending"}
    accepted = exchange("POST", "/repos/acme/shop/check-runs", 201, {}, request=body)
    found = [str(v) for v in check_exchange(accepted)]
    assert any("request body at /status" in v for v in found), found
    refused = exchange("POST", "/repos/acme/shop/check-runs", 422, {"message": "no"}, body)
    assert check_exchange(refused) == []


def test_unknown_or_unvendored_endpoints_fail_loudly() -> None:
    typo = check_exchange(exchange("GET", "/repos/acme/shop/pull/1", 404, {"message": "x"}))
    assert "has no GET /repos/acme/shop/pull/1: a typo" in str(typo[0])
    left_out = check_exchange(exchange("GET", "/repos/acme/shop/issues/1", 200, {}))
    assert "GitHub's issues/get, which tests/specs/github does not vendor" in str(left_out[0])
    assert "vendor-github-specs.py" in str(left_out[0])


def test_webhooks_are_checked_per_event_and_action(world_pr: tuple[Simulator, Any]) -> None:
    sim, pr = world_pr
    item = pull_request_event(sim.world, pr, "opened", "infra-bot[bot]")
    body = json.dumps(item.payload).encode()
    assert check_webhook(SentWebhook("pull_request", "opened", {}, body)) == []
    broken = {**item.payload, "number": "1"}
    found = check_webhook(SentWebhook("pull_request", "opened", {}, json.dumps(broken).encode()))
    assert {v.pointer for v in found} == {"/number"}
    assert {"@octokit/webhooks-schemas" in v.where for v in found} == {True, False}
    typo = check_webhook(
        SentWebhook("pull_request", "openned", {}, body.replace(b"opened", b"openned"))
    )
    assert any("knows no webhook pull_request.openned" in str(v) for v in typo)
    left_out = check_webhook(SentWebhook("issues", "opened", {}, b'{"action": "opened"}'))
    assert any("add 'issues' to WEBHOOK_EVENTS" in str(v) for v in left_out)


def test_graphql_queries_are_validated_against_githubs_schema() -> None:
    good = 'query { repository(owner: "a", name: "b") { f0: object(expression: "s:p") { ... on Blob { text isBinary isTruncated byteSize oid } } } }'
    request = exchange("POST", "/graphql", 200, {"data": {}}, {"query": good})
    assert check_graphql(request) == []
    blob = {"text": "a", "isBinary": False, "isTruncated": False, "byteSize": 1, "oid": "ab"}
    answer = {"data": {"repository": {"f0": blob}}}
    assert check_graphql(exchange("POST", "/graphql", 200, answer, {"query": good})) == []
    wrong = {"data": {"repository": {"f0": {**blob, "byteSize": None, "isBinary": "no"}}}}
    found = check_graphql(exchange("POST", "/graphql", 200, wrong, {"query": good}))
    assert {(v.pointer, v.message) for v in found} >= {
        ("/repository/f0/byteSize", "Cannot return null for non-nullable field Blob.byteSize."),
    }, found
    assert any(v.pointer == "/repository/f0/isBinary" for v in found), found
    bad = good.replace("isTruncated", "isTrunc")
    found = check_graphql(exchange("POST", "/graphql", 200, {"data": {}}, {"query": bad}))
    assert "Cannot query field 'isTrunc' on type 'Blob'" in str(found[0])


def test_shape_tells_enum_values_and_nulls_apart() -> None:
    assert shape({"a": None, "action": "opened"}) != shape({"a": 1, "action": "opened"})
    assert shape({"action": "opened"}) != shape({"action": "closed"})
    assert shape([{"x": 1}, {"x": 2}]) == shape([{"x": 3}])


def test_vendored_copies_are_pinned_licensed_and_complete() -> None:
    spec = importlib.util.spec_from_file_location("vendor_github_specs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    versions = json.loads((ROOT / "VERSIONS.json").read_text())
    for name, version in (script.OPENAPI, script.GRAPHQL, script.WEBHOOKS):
        assert versions["packages"][name]["version"] == version
        assert versions["packages"][name]["integrity"].startswith("sha512-")
    for licence in ("openapi/LICENSE", "graphql/LICENSE.md", "webhooks/LICENSE"):
        assert (
            "MIT" in (ROOT / licence).read_text()
            or "Permission is hereby granted" in (ROOT / licence).read_text()
        )
    rest = descriptions.rest()
    vendored = {op["operationId"] for item in rest.doc["paths"].values() for op in item.values()}
    assert vendored == set(script.OPERATIONS)
    assert rest.version == versions["packages"]["@octokit/openapi"]["version"]
    assert set(descriptions.webhooks().doc["definitions"]) >= {
        f"pull_request${a}" for a in ("opened", "synchronize", "closed", "labeled")
    }
