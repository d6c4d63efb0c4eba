"""The simulator's plumbing and set-up: records, lock, webhook queue, waiting, repos and users.

Operations run under one re-entrant lock; the webhooks they cause are built under it and sent
after it is released, so an app answering a webhook synchronously can call the API back without
dead-locking. `simulator.Simulator` adds the pull-request and check-run operations.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Self

from app.sim import identities, webhooks
from app.sim.auth import TokenStore
from app.sim.faults import Faults
from app.sim.gittree import tree_after
from app.sim.permissions import ALWAYS_DELIVERED, manifest_events, manifest_permissions
from app.sim.state import (
    AppIdentity,
    Changes,
    CheckRun,
    GitCommit,
    Installation,
    PullRequest,
    Repo,
    SimError,
    Team,
    User,
    UserType,
    World,
)
from app.sim.webhooks import Delivery, Outgoing, WebhookSender

PrRef = PullRequest | str
PASSING = {"success", "neutral", "skipped"}
"""Conclusions GitHub accepts for a required check."""


class SimulatorBase:
    """Records, plumbing (lock, webhook queue, waiting) and set-up operations."""

    def __init__(
        self,
        *,
        sync_webhooks: bool = False,
        token_ttl: timedelta = timedelta(hours=1),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._init_args = (sync_webhooks, token_ttl, clock)
        self.world = World()
        self.lock = threading.RLock()
        self.tokens = TokenStore(token_ttl)
        self.faults = Faults()
        self.requests: list[str] = []
        """Every API request as `METHOD /path > status` (no base prefix, no query)."""
        self.log: list[str] = []
        """Operations performed (for test diagnostics), e.g. `merge acme/shop#1 by bob`."""
        self._clock = clock
        self.sender = WebhookSender(self.world, self.now, sync=sync_webhooks)
        self.emit_check_run_events = True
        self._pending: list[Outgoing] = []
        self._depth = 0
        self._numbers: dict[str, itertools.count[int]] = {}
        self._commit_seq = itertools.count(1)

    # --- plumbing --------------------------------------------------------------------------
    def app_bot(self) -> str:
        """The App's bot login (the sender of what the App does through the API)."""
        return f"{self.world.app.slug}[bot]" if self.world.app else "github-actions[bot]"

    def now(self) -> datetime:
        return self._clock() if self._clock else datetime.now(UTC)

    @contextmanager
    def _op(self, *, via_api: bool = False) -> Iterator[None]:
        """Hold the lock; send the webhooks queued meanwhile once the outermost op finishes."""
        items: list[Outgoing] = []
        with self.lock:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    items, self._pending = self._pending, []
        if items:
            self.sender.submit(items, force_async=via_api)

    def _emit(self, item: Outgoing) -> None:
        """Queue a webhook, if the App subscribed to its event (as GitHub, which sends an App
        only the events of its registration, plus installation events)."""
        app = self.world.app
        if app is not None and item.event not in ALWAYS_DELIVERED and item.event not in app.events:
            return
        self._pending.append(item)

    def close(self) -> None:
        """Stop the webhook sender thread (call once per simulator)."""
        self.sender.close()

    def reset(self) -> None:
        """Forget everything, as a new simulator would, but keep serving at the same URL: so one
        server can host many tests, each starting from an empty world.

        Records, tokens, faults, the request log, recorded deliveries and ids all start again;
        the webhook queue must be idle (call `wait_idle` first: a webhook still queued belongs
        to the old world). The App is gone too: register it again with `set_app`.
        """
        if not self.sender.idle():
            raise RuntimeError("reset with webhooks still queued: wait_idle() first")
        old_sender, web_url, lock = self.sender, self.world.web_url, self.lock
        with lock:
            sync_webhooks, token_ttl, clock = self._init_args
            for name in list(vars(self)):
                delattr(self, name)  # lazily made parts (the merge queue) are made again on use
            SimulatorBase.__init__(
                self, sync_webhooks=sync_webhooks, token_ttl=token_ttl, clock=clock
            )
            self.lock = lock  # a request waiting for the lock sees the new world once it has it
            self.world.web_url = web_url
            old_sender.hand_over_client(self.sender)
        old_sender.close()  # its thread ends; its HTTP client serves the new sender
        forget_per_simulator_state(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pr(self, ref: PrRef) -> PullRequest:
        if isinstance(ref, PullRequest):
            return ref
        repo, _, number = ref.partition("#")
        found = self.world.pull(repo, int(number)) if number.isdigit() else None
        if found is None:
            raise SimError(404, f"no pull request {ref!r} (use 'owner/repo#number')")
        return found

    def _repo(self, full_name: str) -> Repo:
        repo = self.world.repo(full_name)
        if repo is None:
            raise SimError(404, f"no repository {full_name!r}; create it with create_repo")
        return repo

    def _ensure_user(self, login: str) -> User:
        return self.world.user(login) or self.add_user(login)

    # --- setup -------------------------------------------------------------------------------
    def set_app(
        self,
        app_id: int,
        public_key_pem: str,
        *,
        webhook_url: str | None,
        webhook_secret: str,
        slug: str = "countersign",
        owner: str = "acme",
        permissions: Mapping[str, str] | None = None,
        events: tuple[str, ...] | None = None,
    ) -> AppIdentity:
        """The App under test; its permissions and subscribed events are app.yml's
        `default_permissions` and `default_events` unless given."""
        with self._op():
            self._ensure_user(owner)
            self.world.app = AppIdentity(
                id=app_id,
                slug=slug,
                name=slug.capitalize(),
                owner=owner,
                public_key_pem=public_key_pem,
                webhook_url=webhook_url,
                webhook_secret=webhook_secret,
                created_at=self.now(),
                permissions=dict(
                    permissions if permissions is not None else manifest_permissions()
                ),
                events=events if events is not None else manifest_events(),
            )
            self.add_user(f"{slug}[bot]", type="Bot")
            return self.world.app

    def add_user(
        self,
        login: str,
        *,
        type: UserType | None = None,
        name: str | None = None,
        email: str | None = None,
        site_admin: bool = False,
    ) -> User:
        with self._op():
            kind: UserType = type or ("Bot" if login.endswith("[bot]") else "User")
            existing = self.world.user(login)
            if existing is not None:
                existing.type = kind if type else existing.type
                return existing
            user = User(login, self.world.new_id(), kind, name, email, site_admin, self.now())
            self.world.users[login.lower()] = user
            return user

    def add_org(self, login: str) -> User:
        return self.add_user(login, type="Organization")

    def add_team(
        self, org: str, slug: str, members: list[str] | dict[str, str], name: str | None = None
    ) -> Team:
        with self._op():
            self.add_org(org) if self.world.user(org) is None else None
            roles = members if isinstance(members, dict) else dict.fromkeys(members, "member")
            team = Team(org, slug, self.world.new_id(), name or slug)
            for login, role in roles.items():
                self._ensure_user(login)
                team.members[login] = "maintainer" if role == "maintainer" else "member"
            self.world.teams[(org.lower(), slug.lower())] = team
            return team

    def invite_to_team(self, org: str, slug: str, login: str) -> None:
        """An invitation `login` has not accepted yet (membership `pending`, not a member)."""
        with self._op():
            team = self.world.team(org, slug)
            if team is None:
                raise SimError(404, f"no team {org}/{slug}")
            self._ensure_user(login)
            team.pending.add(login)

    def oauth_sign_in(self, login: str | None) -> None:
        """Who is signed in to the simulated github.com (None: nobody; authorize shows a form)."""
        with self._op():
            user = self.world.user(login) if login else None
            if login is not None and user is None:
                raise SimError(404, f"no user {login!r} in the simulator; add it with add_user")
            self.world.signed_in = user.login if user is not None else None

    def set_oauth_callback(self, *urls: str) -> None:
        """The App's user-authorization callback URLs (GitHub App settings)."""
        with self._op():
            if self.world.app is None:
                raise SimError(404, "no App configured in the simulator (set_app)")
            self.world.app.callback_urls = tuple(urls)

    def install(
        self, account: str, repositories: list[str] | None = None, *, by: str | None = None
    ) -> Installation:
        """Install the App on an account (→ installation.created)."""
        with self._op():
            self._ensure_user(account)
            inst = Installation(
                self.world.new_id(),
                account,
                self.now(),
                repositories,
                permissions=dict(self.world.app.permissions if self.world.app else {}),
            )
            self.world.installations[inst.id] = inst
            self._emit(webhooks.installation_event(self.world, inst, "created", by or account))
            return inst

    def set_permissions(self, installation_id: int, permissions: Mapping[str, str]) -> None:
        """What the installation grants from now on: tokens issued before keep at most this (a
        token never exceeds its installation's current grant)."""
        with self._op():
            inst = self.world.installations.get(installation_id)
            if inst is None:
                raise SimError(404, f"no installation {installation_id}")
            inst.permissions = dict(permissions)

    def uninstall(self, installation_id: int, *, by: str | None = None) -> None:
        """Remove an installation (→ installation.deleted); its tokens stop working."""
        with self._op():
            inst = self.world.installations.get(installation_id)
            if inst is None:
                raise SimError(404, f"no installation {installation_id}")
            self._emit(webhooks.installation_event(self.world, inst, "deleted", by or inst.account))
            del self.world.installations[installation_id]
            self.tokens.revoke_installation(installation_id)

    def create_repo(
        self,
        full_name: str,
        files: Mapping[str, bytes | str],
        *,
        default_branch: str = "main",
        author: str | None = None,
        required_checks: tuple[str, ...] = ("countersign",),
        admins: tuple[str, ...] = (),
        private: bool = True,
    ) -> Repo:
        """A repository whose default branch holds `files` in one initial commit."""
        with self._op():
            owner, _, name = full_name.partition("/")
            if not owner or not name or "/" in name:
                raise SimError(422, f"repository name {full_name!r} must be 'owner/name'")
            if self.world.repo(full_name) is not None:
                raise SimError(422, f"repository {full_name} already exists")
            self._ensure_user(owner)
            repo = Repo(
                self.world.new_id(),
                owner,
                name,
                self.now(),
                default_branch=default_branch,
                private=private,
                required_checks=tuple(required_checks),
                admins=set(admins),
            )
            self.world.repos[full_name.lower()] = repo
            sha = self._commit(repo, [], as_changes(files), "Initial commit", author or owner)
            repo.branches[default_branch] = sha
            return repo

    def _commit(
        self,
        repo: Repo,
        parents: list[str],
        changes: Changes,
        message: str,
        author: str,
        committer: str | None = None,
        tree: dict[str, str] | None = None,
    ) -> str:
        for who in (author, committer or author):
            if identities.raw_identity(who) is None:
                self._ensure_user(who)
        base_tree = repo.commits[parents[0]].tree if parents else {}
        new_tree = tree if tree is not None else tree_after(base_tree, repo.blobs, changes)
        seq = next(self._commit_seq)
        seed = f"{repo.full_name}|{parents}|{sorted(new_tree.items())}|{author}|{message}|{seq}"
        sha = hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
        repo.commits[sha] = GitCommit(
            sha, new_tree, list(parents), message, author, committer or author, self.now()
        )
        return sha

    # --- waiting & deliveries --------------------------------------------------------------
    def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition"
    ) -> None:
        """Poll `predicate` until true; TimeoutError naming `what` and the recent deliveries."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                recent = [f"{d.event}.{d.action}:{d.status}" for d in self.deliveries[-5:]]
                raise TimeoutError(
                    f"timed out after {timeout}s waiting for {what}; last deliveries: {recent}"
                )
            time.sleep(0.02)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every queued webhook was delivered (or failed)."""
        self.wait_for(self.sender.idle, timeout, "the webhook queue to drain")

    def drop_next_deliveries(self, count: int) -> None:
        """The next `count` webhooks are recorded as failed and not sent."""
        self.sender.drop_next(count)

    def redeliver(self, delivery_id: int, *, via_api: bool = False) -> None:
        if not self.sender.redeliver(delivery_id, force_async=via_api):
            raise SimError(404, f"no hook delivery {delivery_id}")

    @property
    def deliveries(self) -> list[Delivery]:
        return list(self.sender.deliveries)

    def check_runs_for(self, repo: str, sha: str) -> list[CheckRun]:
        name = self._repo(repo).full_name
        return [c for c in self.world.check_runs.values() if c.repo == name and c.head_sha == sha]


def forget_per_simulator_state(sim: SimulatorBase) -> None:
    """Drop what modules keep per simulator (OIDC keys, pending manifest codes)."""
    from app.sim import manifests, oidc
    from app.sim.simulator import Simulator

    if isinstance(sim, Simulator):
        oidc.forget(sim)
        manifests.forget(sim)


def as_changes(files: Mapping[str, bytes | str | None]) -> Changes:
    return {
        path: content.encode("utf-8") if isinstance(content, str) else content
        for path, content in files.items()
    }
