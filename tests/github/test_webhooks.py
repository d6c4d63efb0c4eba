import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.errors import SignatureInvalid
from app.github.webhooks import parse_payload, sign, verify_signature

SECRET = "s3cr3t-for-tests"


def test_valid_signature_passes() -> None:
    body = b'{"action":"opened"}'
    verify_signature(SECRET, body, sign(SECRET, body))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha1=abcdef", "sha256=", "sha256=" + "0" * 64, "SHA256=deadbeef", "sha256=zz"],
)
def test_bad_signatures_are_rejected(header: str | None) -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(SECRET, b"{}", header)


def test_signature_over_other_body_is_rejected() -> None:
    with pytest.raises(SignatureInvalid):
        verify_signature(SECRET, b'{"a":2}', sign(SECRET, b'{"a":1}'))


def test_lenient_payload_reads_what_we_need() -> None:
    data = {
        "action": "synchronize",
        "installation": {"id": 7, "node_id": "x"},
        "repository": {"full_name": "acme/infra", "id": 1, "unexpected": [1, 2]},
        "pull_request": {
            "number": 5,
            "head": {"sha": "a" * 40, "ref": "b"},
            "labels": [{"name": "x"}],
        },
    }
    p = parse_payload(data)
    assert (p.action, p.installation.id, p.repository.full_name) == ("synchronize", 7, "acme/infra")  # type: ignore[union-attr]
    assert p.pr_numbers() == [5]
    assert p.head_sha() == "a" * 40


def test_one_bad_field_does_not_lose_the_rest() -> None:
    p = parse_payload(
        {
            "action": "opened",
            "installation": {"id": "not-a-number"},
            "repository": {"full_name": "a/b"},
        }
    )
    assert p.action == "opened"
    assert p.installation is None
    assert p.repository is not None


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=30,
    )
)
def test_parse_never_raises(data: object) -> None:
    parse_payload(data)
    parse_payload(json.loads(json.dumps({"pull_request": data, "check_run": data})))


def test_fork_check_run_names_its_pr_through_our_external_id() -> None:
    from app.github.webhooks import parse_payload

    base = {"repository": {"full_name": "acme/platform"}, "installation": {"id": 1}}
    run = {"id": 9, "name": "countersign", "pull_requests": [], "head_sha": "ab" * 20}
    ours = parse_payload(
        {**base, "check_run": {**run, "external_id": "acme/platform#7@" + "ab" * 20}}
    )
    assert ours.pr_numbers() == [7]
    other_repo = parse_payload({**base, "check_run": {**run, "external_id": "evil/repo#7@x"}})
    assert other_repo.pr_numbers() == []
    foreign = parse_payload({**base, "check_run": {**run, "external_id": "build-42"}})
    assert foreign.pr_numbers() == []


def test_merge_group_names_its_pr_through_the_readonly_ref() -> None:
    from app.github.webhooks import parse_payload, queued_pull

    sha = "c0ffee" * 6 + "beef"
    group = {
        "head_sha": "1" * 40,
        "head_ref": f"refs/heads/gh-readonly-queue/main/pr-12-{sha}",
        "base_sha": "2" * 40,
        "base_ref": "refs/heads/main",
    }
    payload = parse_payload({"action": "checks_requested", "merge_group": group})
    assert payload.pr_numbers() == [12] and payload.head_sha() == "1" * 40
    assert queued_pull(f"gh-readonly-queue/release/1.x/pr-3-{sha}") == (3, sha)
    assert queued_pull("refs/heads/main") is None


def test_a_comment_names_its_pr_only_when_the_issue_is_a_pull_request() -> None:
    on_pr = parse_payload(
        {
            "action": "created",
            "issue": {
                "number": 7,
                "state": "open",
                "pull_request": {"url": "https://api.github.com/repos/acme/shop/pulls/7"},
            },
            "comment": {"id": 1, "body": "/break-glass db down", "user": {"login": "sam"}},
        }
    )
    assert on_pr.pr_numbers() == [7]
    assert on_pr.comment is not None and on_pr.comment.body == "/break-glass db down"
    on_issue = parse_payload({"action": "created", "issue": {"number": 8, "state": "open"}})
    assert on_issue.pr_numbers() == []


def test_a_label_event_names_its_label() -> None:
    payload = parse_payload(
        {"action": "labeled", "number": 3, "label": {"name": "countersign/break-glass"}}
    )
    assert payload.label is not None and payload.label.name == "countersign/break-glass"
