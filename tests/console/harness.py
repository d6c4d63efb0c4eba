"""A running console on real data: the service and the GitHub simulator on loopback, seeded by
playing the demo scenario (agent PRs, reviews, a merge and an admin bypass merge) plus one agent
PR whose title and file name carry XSS payloads, merged like any other.

Used by the console tests, the browser tests and `scripts/console-screenshots.py`.
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import SecretStr

from app.demo.run import SCENARIO
from app.demo.stack import LocalStack
from app.sim.scenario import load_file, load_scenario, run
from app.store.audit.export import count_merges
from tests.stacks import session_key_pair

TEAMS = "acme/compliance,acme/security"
XSS_TITLE = "<script>window.__xss=1;alert('title')</script><img src=x onerror=\"alert('img')\">"
XSS_FILE = "docs/<img src=x onerror=alert(3)>.md"
XSS_STEPS = f"""
name: console-xss
description: An agent writes script into its PR title and a file name; it merges.
setup: {{}}
steps:
  - op: open_pr
    as: docs-bot[bot]
    branch: agent/xss
    title: {json.dumps(XSS_TITLE)}
    body: |
      Add a note.

      Agent-Run-Id: run_docs_xss
    files:
      {json.dumps(XSS_FILE)}: "hello\\n"
  - {{op: wait_check, pr: 6, conclusion: success}}
  - {{op: merge, pr: 6, as: bob}}
"""
MERGES = 3  # the demo's two (one a bypass) and the XSS PR
XSS_PR = 6
BYPASS_PR = 2


class ConsoleStack:
    """`with ConsoleStack(tmp) as c:` → `c.url`, `c.sign_in(login)`, `c.public_key_pem`."""

    def __init__(self, folder: Path) -> None:
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        self.public_key_path = folder / "signing-key.pub.pem"
        self.public_key_path.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        self.stack = LocalStack(
            f"sqlite:///{folder / 'console.db'}",
            key_pair=session_key_pair(),
            console_teams=TEAMS,
            console_session_secret=SecretStr(secrets.token_hex(32)),
            signing_key=SecretStr(pem),
            console_login_rate_per_minute=1000,  # many sign-ins from 127.0.0.1 (tested apart)
        )

    @property
    def url(self) -> str:
        return self.stack.url

    def __enter__(self) -> Self:
        self.stack.__enter__()
        try:
            run(self.stack.sim, load_file(SCENARIO))
            run(self.stack.sim, load_scenario(XSS_STEPS), setup=False)
            self._wait_merges()
        except BaseException:
            self.stack.__exit__(None, None, None)
            raise
        return self

    def _wait_merges(self, timeout: float = 30.0) -> None:
        assert self.stack.runtime is not None
        engine = self.stack.runtime.engine
        deadline = time.monotonic() + timeout
        while count_merges(engine) < MERGES:
            if time.monotonic() > deadline:
                raise TimeoutError(f"expected {MERGES} merge records, got {count_merges(engine)}")
            time.sleep(0.1)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stack.__exit__(kind, error, trace)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"Accept": "text/html"})

    def sign_in(self, login: str) -> httpx.Client:
        """A client signed in through the whole OAuth flow as `login` (the simulator's user)."""
        self.stack.sim.oauth_sign_in(login)
        client = self.client()
        response = client.get("/console/login", follow_redirects=True)
        if response.status_code != 200:
            raise AssertionError(f"sign-in as {login} answered {response.status_code}")
        return client
