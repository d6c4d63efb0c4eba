"""Read a PR's conversation for break-glass: who added which label when, and the comments.

`GET /issues/{n}/events` names the actor of each `labeled`/`unlabeled` event (the webhook's
`sender` tells the same for one event, but a re-evaluation must not depend on which delivery
triggered it), and `GET /issues/{n}/comments` holds the `/break-glass <reason>` comment. Read
only when the break-glass label is on the PR, so ordinary evaluations cost no extra calls.
A 4xx (e.g. the App lacks `issues: read`) becomes `Conversation.error`: nobody has broken glass.
Rate limits and 5xx raise (GitHubUnavailable), so the delivery is retried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.core.errors import GitHubError, GitHubUnavailable
from app.core.snapshot import Conversation, LabelEvent, PrComment
from app.github.client import InstallationClient

MAX_CONVERSATION_ITEMS = 3000
"""Events and comments read per PR (oldest first): a longer list cannot show the latest label
change, so it fails closed."""


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _login(user: Any) -> tuple[str, bool] | None:
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        return None
    return user["login"], user.get("type") == "Bot"


def label_events(items: list[dict[str, Any]]) -> tuple[LabelEvent, ...]:
    """The `labeled`/`unlabeled` entries of an issue's events, oldest first; others are skipped."""
    out: list[LabelEvent] = []
    for item in items:
        event = item.get("event")
        actor = _login(item.get("actor"))
        at = _time(item.get("created_at"))
        name = (
            (item.get("label") or {}).get("name") if isinstance(item.get("label"), dict) else None
        )
        if event not in ("labeled", "unlabeled") or at is None or not name:
            continue
        # An actor GitHub does not name (`actor: null`) is kept as unknown, never skipped: the
        # last change of the label must stay the one that decides (break-glass refuses it).
        login, is_bot = actor if actor is not None else ("", False)
        out.append(
            LabelEvent(event=event, label=str(name), actor=login, actor_is_bot=is_bot, at=at)
        )
    return tuple(out)


def comments(items: list[dict[str, Any]]) -> tuple[PrComment, ...]:
    """Issue comments with an author and a time (a deleted account's comment has neither)."""
    out: list[PrComment] = []
    for item in items:
        author = _login(item.get("user"))
        at = _time(item.get("created_at"))
        if author is None or at is None or not isinstance(item.get("id"), int):
            continue
        out.append(
            PrComment(
                id=item["id"],
                author=author[0],
                author_is_bot=author[1],
                at=at,
                body=str(item.get("body") or ""),
                url=str(item.get("html_url") or ""),
            )
        )
    return tuple(out)


def fetch_conversation(
    client: InstallationClient, repo: str, number: int, *, head_first_seen: datetime | None
) -> Conversation:
    """Label events and comments of PR `number`; an error names what could not be read."""
    try:
        events = client.paginate(
            f"/repos/{repo}/issues/{number}/events", limit=MAX_CONVERSATION_ITEMS
        )
        notes = client.paginate(
            f"/repos/{repo}/issues/{number}/comments", limit=MAX_CONVERSATION_ITEMS
        )
    except GitHubUnavailable:
        raise
    except GitHubError as error:
        return Conversation(head_first_seen=head_first_seen, error=str(error)[:300])
    if len(events) >= MAX_CONVERSATION_ITEMS or len(notes) >= MAX_CONVERSATION_ITEMS:
        return Conversation(
            head_first_seen=head_first_seen,
            error=f"the PR has over {MAX_CONVERSATION_ITEMS:,} events or comments",
        )
    return Conversation(
        label_events=label_events(events),
        comments=comments(notes),
        head_first_seen=head_first_seen,
    )
