"""Reading a PR's conversation for break-glass, through our real client against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime

from app.github.conversation import comments, fetch_conversation, label_events
from tests.github.conftest import Hub

SEEN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def test_label_events_and_comments_are_read_with_who_and_when(hub: Hub) -> None:
    pr = hub.sim.open_pr(
        "acme/platform", "pricing-bot[bot]", "agent/x", {"README.md": "x\n"}, title="x"
    )
    hub.sim.add_labels(pr, ["countersign/break-glass"], by="alice", via_api=False)
    hub.sim.comment(pr, "alice", "/break-glass INC-9 site down")
    hub.sim.comment(pr, "pricing-bot[bot]", "I am a bot")
    client = hub.client()
    conv = fetch_conversation(client, "acme/platform", pr.number, head_first_seen=SEEN)
    assert conv.error is None and conv.head_first_seen == SEEN
    [event] = conv.label_events
    assert (event.event, event.label, event.actor, event.actor_is_bot) == (
        "labeled",
        "countersign/break-glass",
        "alice",
        False,
    )
    assert event.at.tzinfo is not None
    assert [(c.author, c.author_is_bot) for c in conv.comments] == [
        ("alice", False),
        ("pricing-bot[bot]", True),
    ]
    assert conv.comments[0].url.endswith(f"#issuecomment-{conv.comments[0].id}")
    assert client.log.calls[-2:] == [
        f"GET /repos/acme/platform/issues/{pr.number}/events > 200",
        f"GET /repos/acme/platform/issues/{pr.number}/comments > 200",
    ]


def test_without_issues_permission_nobody_can_be_established(hub: Hub) -> None:
    """A 403 is an answer, not an outage: the facts are missing, so break-glass fails closed."""
    pr = hub.sim.open_pr(
        "acme/platform", "pricing-bot[bot]", "agent/y", {"README.md": "y\n"}, title="y"
    )
    perms = dict(hub.sim.world.installations[hub.installation_id].permissions)
    perms.pop("issues")
    hub.sim.set_permissions(hub.installation_id, perms)
    conv = fetch_conversation(hub.client(), "acme/platform", pr.number, head_first_seen=SEEN)
    assert conv.error is not None and "Resource not accessible by integration" in conv.error
    assert conv.label_events == () and conv.comments == ()


def test_a_label_event_without_an_actor_is_kept_as_unknown() -> None:
    """Skipping it would let an older `labeled` event by someone else decide."""
    events = [
        {"event": "labeled", "actor": {"login": "sam"}, "created_at": "2026-12-02T09:00:02Z",
         "label": {"name": "countersign/break-glass"}},
        {"event": "unlabeled", "actor": None, "created_at": "2026-12-02T09:00:03Z",
         "label": {"name": "countersign/break-glass"}},
        {"event": "labeled", "actor": None, "created_at": "2026-12-02T09:00:04Z",
         "label": {"name": "countersign/break-glass"}},
    ]  # fmt: skip
    assert [(e.event, e.actor) for e in label_events(events)] == [
        ("labeled", "sam"),
        ("unlabeled", ""),
        ("labeled", ""),
    ]


def test_other_events_and_ghost_comments_are_skipped() -> None:
    """GitHub lists every kind of issue event; a deleted account's comment has `user: null`."""
    events = [
        {
            "event": "review_requested",
            "actor": {"login": "alice"},
            "created_at": "2026-12-02T09:00:01Z",
        },
        {
            "event": "labeled",
            "actor": {"login": "alice", "type": "User"},
            "created_at": "2026-12-02T09:00:02Z",
            "label": {"name": "countersign/break-glass", "color": "b60205"},
        },
        {"event": "labeled", "actor": None, "created_at": "2026-12-02T09:00:03Z", "label": {}},
    ]
    assert [e.actor for e in label_events(events)] == ["alice"]
    notes = [
        {"id": 1, "user": None, "created_at": "2026-12-02T09:00:04Z", "body": "/break-glass x"},
        {"id": 2, "user": {"login": "bob"}, "created_at": "not a time", "body": "/break-glass y"},
        {"id": 3, "user": {"login": "bob"}, "created_at": "2026-12-02T09:00:05Z", "body": None},
    ]
    assert [(c.id, c.body) for c in comments(notes)] == [(3, "")]
