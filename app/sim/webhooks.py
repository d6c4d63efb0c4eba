"""Webhooks as GitHub sends them: payload builders (pure) and a signed, recorded sender.

Every delivery carries GitHub's headers (`X-GitHub-Event`, `X-GitHub-Delivery` uuid4,
`X-GitHub-Hook-ID`, `X-GitHub-Hook-Installation-Target-ID/-Type`, `X-Hub-Signature` sha1 and
`X-Hub-Signature-256` sha256 HMACs of the raw body, `User-Agent: GitHub-Hookshot/…`) and is
recorded with its HTTP outcome for `GET /app/hook/deliveries`. A redelivery re-sends the same
body under the same GUID with a new delivery id, as GitHub does.

Sending is asynchronous by default (one sender thread, in order), or synchronous (`sync=True`:
the operation returns after the app answered). Operations triggered by the app's own API calls
always queue, so the app is never called back from inside its own request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from app.sim import shapes, shapes_issues, shapes_pull, taps
from app.sim.state import (
    AppIdentity,
    CheckRun,
    Installation,
    IssueComment,
    PullRequest,
    Repo,
    Review,
    World,
)

HOOK_ID = 424242
USER_AGENT = "GitHub-Hookshot/sim"


@dataclass(frozen=True)
class Outgoing:
    """A webhook to send (built under the simulator lock, sent outside it)."""

    event: str
    action: str | None
    payload: dict[str, Any]
    installation_id: int | None
    repository_id: int | None
    guid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class Delivery:
    """One attempt, as `GET /app/hook/deliveries` lists it."""

    id: int
    guid: str
    event: str
    action: str | None
    installation_id: int | None
    repository_id: int | None
    delivered_at: datetime
    redelivery: bool
    status: str
    status_code: int
    duration: float
    body: bytes
    request_headers: dict[str, str]
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""

    @property
    def payload(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.body)
        return value

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300


def _envelope(
    world: World, repo: Repo, sender: str, installation: Installation | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "repository": shapes.repository(world, repo),
        "sender": shapes.user(world, sender),
    }
    owner = world.user(repo.owner)
    if owner is not None and owner.type == "Organization":
        data["organization"] = shapes.organization(world, repo.owner)
    if installation is not None:
        data["installation"] = {
            "id": installation.id,
            "node_id": shapes.node_id("MDIz", installation.id),
        }
    return data


def pull_request_event(
    world: World, pr: PullRequest, action: str, sender: str, **extra: Any
) -> Outgoing:
    """`pull_request` with `action`; `extra` adds e.g. before/after, changes, label."""
    repo = world.repos[pr.repo.lower()]
    inst = world.installation_for(pr.repo)
    payload = {
        "action": action,
        "number": pr.number,
        "pull_request": shapes_pull.pull_request(world, pr),
        **extra,
        **_envelope(world, repo, sender, inst),
    }
    return Outgoing("pull_request", action, payload, inst.id if inst else None, repo.id)


def review_event(world: World, review: Review, action: str, sender: str) -> Outgoing:
    """`pull_request_review` (submitted / dismissed)."""
    pr = world.pulls[(review.repo, review.number)]
    repo = world.repos[pr.repo.lower()]
    inst = world.installation_for(pr.repo)
    payload = {
        "action": action,
        # Webhooks spell review states in lower case (the REST API in upper case).
        "review": {**shapes_pull.review(world, review), "state": review.state.lower()},
        "pull_request": _simple_pull_request(world, pr),
        **_envelope(world, repo, sender, inst),
    }
    return Outgoing("pull_request_review", action, payload, inst.id if inst else None, repo.id)


def issue_comment_event(
    world: World, comment: IssueComment, action: str, sender: str, **extra: Any
) -> Outgoing:
    """`issue_comment` (created / edited / deleted) on a PR's conversation."""
    pr = world.pulls[(comment.repo, comment.number)]
    repo = world.repos[pr.repo.lower()]
    inst = world.installation_for(pr.repo)
    payload = {
        "action": action,
        "issue": shapes_issues.issue(world, pr),
        "comment": shapes_issues.issue_comment(world, comment),
        **extra,
        **_envelope(world, repo, sender, inst),
    }
    return Outgoing("issue_comment", action, payload, inst.id if inst else None, repo.id)


FULL_PULL_ONLY = (
    "merged",
    "mergeable",
    "rebaseable",
    "mergeable_state",
    "merged_by",
    "comments",
    "review_comments",
    "maintainer_can_modify",
    "commits",
    "additions",
    "deletions",
    "changed_files",
)
"""Fields of the full pull request that review webhooks leave out (GitHub's simple form)."""


def _simple_pull_request(world: World, pr: PullRequest) -> dict[str, Any]:
    full = shapes_pull.pull_request(world, pr)
    return {k: v for k, v in full.items() if k not in FULL_PULL_ONLY}


def check_run_event(
    world: World, cr: CheckRun, action: str, sender: str, identifier: str | None = None
) -> Outgoing:
    """`check_run` (created / completed / rerequested / requested_action)."""
    repo = world.repos[cr.repo.lower()]
    inst = world.installation_for(cr.repo)
    run = shapes_pull.check_run(world, cr)
    run["check_suite"] = shapes_pull.check_suite(world, cr, brief=True)
    payload: dict[str, Any] = {"action": action, "check_run": run}
    if identifier is not None:
        payload["requested_action"] = {"identifier": identifier}
    payload.update(_envelope(world, repo, sender, inst))
    return Outgoing("check_run", action, payload, inst.id if inst else None, repo.id)


def check_suite_event(world: World, cr: CheckRun, action: str, sender: str) -> Outgoing:
    """`check_suite` (requested / rerequested / completed) for the suite of check run `cr`."""
    repo = world.repos[cr.repo.lower()]
    inst = world.installation_for(cr.repo)
    payload: dict[str, Any] = {"action": action, "check_suite": shapes_pull.check_suite(world, cr)}
    payload.update(_envelope(world, repo, sender, inst))
    return Outgoing("check_suite", action, payload, inst.id if inst else None, repo.id)


def installation_event(world: World, inst: Installation, action: str, sender: str) -> Outgoing:
    """`installation` (created / deleted / suspend / unsuspend)."""
    repos = [
        r
        for r in world.repos.values()
        if r.owner == inst.account
        and (inst.repositories is None or r.full_name in inst.repositories)
    ]
    payload = {
        "action": action,
        "installation": shapes.installation(world, inst),
        "repositories": [
            {
                "id": r.id,
                "node_id": shapes.node_id("R", r.id),
                "name": r.name,
                "full_name": r.full_name,
                "private": r.private,
            }
            for r in repos
        ],
        "requester": None,
        "sender": shapes.user(world, sender),
    }
    return Outgoing("installation", action, payload, inst.id, None)


def request_for(
    item: Outgoing, app: AppIdentity | None, body: bytes | None = None
) -> tuple[bytes, dict[str, str]]:
    """The body and headers GitHub sends for one delivery (`body`: a redelivery's stored bytes)."""
    raw = body if body is not None else json.dumps(item.payload).encode()
    headers = {
        "Accept": "*/*",
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-GitHub-Event": item.event,
        "X-GitHub-Delivery": item.guid,
        "X-GitHub-Hook-ID": str(HOOK_ID),
        "X-GitHub-Hook-Installation-Target-ID": str(app.id if app else 0),
        "X-GitHub-Hook-Installation-Target-Type": "integration",
        **signature_headers(app.webhook_secret if app else "", raw),
    }
    return raw, headers


def signature_headers(secret: str, body: bytes) -> dict[str, str]:
    key = secret.encode()
    return {
        "X-Hub-Signature": "sha1=" + hmac.new(key, body, hashlib.sha1).hexdigest(),
        "X-Hub-Signature-256": "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest(),
    }


class WebhookSender:
    """Sends Outgoing webhooks to the App's URL and records every delivery."""

    def __init__(self, world: World, clock: Callable[[], datetime], *, sync: bool = False) -> None:
        self.world = world
        self.clock = clock
        self.sync = sync
        self.timeout = 10.0
        self.deliveries: list[Delivery] = []
        self._drop = 0
        self._next_id = 90000
        self._lock = threading.Lock()
        self._queue: queue.Queue[tuple[Outgoing, bool] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        """Made on first send: an SSL context costs ~0.1 s, and `Simulator.reset` hands it on."""

    def drop_next(self, count: int) -> None:
        """The next `count` deliveries fail without being sent (GitHub could not reach the app)."""
        with self._lock:
            self._drop += count

    def submit(self, items: list[Outgoing], *, force_async: bool = False) -> None:
        for item in items:
            if self.sync and not force_async:
                self._deliver(item, redelivery=False)
            else:
                self._ensure_thread()
                self._queue.put((item, False))

    def redeliver(self, delivery_id: int, *, force_async: bool = False) -> bool:
        """Send a recorded delivery again (same GUID and body); False when the id is unknown."""
        with self._lock:
            old = next((d for d in self.deliveries if d.id == delivery_id), None)
        if old is None:
            return False
        item = Outgoing(
            old.event,
            old.action,
            old.payload,
            old.installation_id,
            old.repository_id,
            guid=old.guid,
        )
        if self.sync and not force_async:
            self._deliver(item, redelivery=True, body=old.body)
        else:
            self._ensure_thread()
            self._queue.put((item, True))
        return True

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None
        if self._client is not None:
            self._client.close()
            self._client = None

    def hand_over_client(self, successor: WebhookSender) -> None:
        """Give `successor` (a reset simulator's sender) this one's HTTP client."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None and successor._client is None:
            successor._client = client
        elif client is not None:
            client.close()

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.timeout)
            return self._client

    def _ensure_thread(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="sim-webhook-sender", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                if job is None:
                    return
                item, redelivery = job
                body = None
                if redelivery:
                    with self._lock:
                        body = next(d.body for d in self.deliveries if d.guid == item.guid)
                self._deliver(item, redelivery=redelivery, body=body)
            finally:
                self._queue.task_done()

    def _deliver(self, item: Outgoing, *, redelivery: bool, body: bytes | None = None) -> Delivery:
        app = self.world.app
        raw, headers = request_for(item, app, body)
        started = time.monotonic()
        status, code, response_headers, response_body = "OK", 0, {}, ""
        with self._lock:
            dropped = self._drop > 0
            if dropped:
                self._drop -= 1
        if dropped:
            status = "failed to connect to host"
        elif app is None or not app.webhook_url:
            status = "no webhook URL configured"
        else:
            try:
                response = self._http().post(app.webhook_url, content=raw, headers=headers)
                code = response.status_code
                response_headers = dict(response.headers)
                response_body = response.text[:4096]
                status = "OK" if 200 <= code < 300 else f"Invalid HTTP Response: {code}"
            except httpx.TimeoutException:
                status = "timed out"
            except httpx.HTTPError:
                status = "failed to connect to host"
        with self._lock:
            self._next_id += 1
            delivery = Delivery(
                id=self._next_id,
                guid=item.guid,
                event=item.event,
                action=item.action,
                installation_id=item.installation_id,
                repository_id=item.repository_id,
                delivered_at=self.clock(),
                redelivery=redelivery,
                status=status,
                status_code=code,
                duration=round(time.monotonic() - started, 3),
                body=raw,
                request_headers=headers,
                response_headers=response_headers,
                response_body=response_body,
            )
            self.deliveries.append(delivery)
        if taps.active():
            taps.publish(taps.SentWebhook(item.event, item.action, headers, raw))
        return delivery
