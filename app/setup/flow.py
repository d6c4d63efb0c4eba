"""The browser half of GitHub's manifest flow, served on 127.0.0.1.

1. `GET /` answers an HTML form that submits itself: field `manifest` (the JSON) POSTed to
   `{github_url}/settings/apps/new?state=…` (or `/organizations/{org}/settings/apps/new`).
2. GitHub registers the App and sends the browser to our `redirect_url`: `GET /callback?code&state`.
3. We check `state` (one random value per run), exchange the code once
   (`POST {api_url}/app-manifests/{code}/conversions`, no authentication) and write the credentials.
"""

from __future__ import annotations

import html
import json
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode, urlsplit

import httpx

from app.core.errors import CountersignError
from app.setup.envfile import AppCredentials, refuse_overwrite, write_credentials
from app.setup.manifest import build_manifest

CALLBACK_PATH = "/callback"
GITHUB_URL = "https://github.com"
GITHUB_API_URL = "https://api.github.com"


class SetupFailed(CountersignError):
    """The manifest flow did not complete (bad state, refused code, GitHub unreachable)."""


@dataclass(frozen=True)
class SetupOptions:
    app_yml: dict[str, Any]
    env_path: Path
    key_path: Path
    github_url: str = GITHUB_URL
    api_url: str = GITHUB_API_URL
    org: str | None = None
    public_url: str | None = None
    name: str | None = None
    host: str = "127.0.0.1"
    port: int = 0
    force: bool = False
    timeout: float = 600.0


@dataclass
class _Outcome:
    done: threading.Event = field(default_factory=threading.Event)
    credentials: AppCredentials | None = None
    error: str | None = None


def form_action(github_url: str, org: str | None, state: str) -> str:
    """Where the form posts: the personal or the organization registration page, with state."""
    base = github_url.rstrip("/")
    path = (
        f"/organizations/{quote(org, safe='')}/settings/apps/new" if org else "/settings/apps/new"
    )
    return f"{base}{path}?{urlencode({'state': state})}"


def form_page(action: str, manifest: dict[str, Any]) -> str:
    """The auto-submitting form (with a button, for browsers that block scripts)."""
    value = html.escape(json.dumps(manifest), quote=True)
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Countersign setup</title>"
        "</head><body><p>Registering the Countersign GitHub App…</p>"
        f"<form id='manifest' method='post' action='{html.escape(action, quote=True)}'>"
        f"<input type='hidden' name='manifest' value='{value}'>"
        "<button type='submit'>Create the GitHub App</button></form>"
        "<script>document.getElementById('manifest').submit()</script></body></html>"
    )


def exchange_code(api_url: str, code: str, timeout: float = 30.0) -> AppCredentials:
    """`POST /app-manifests/{code}/conversions` (no authentication): the App's credentials."""
    url = f"{api_url.rstrip('/')}/app-manifests/{quote(code, safe='')}/conversions"
    try:
        response = httpx.post(
            url, headers={"Accept": "application/vnd.github+json"}, timeout=timeout
        )
    except httpx.HTTPError as error:
        raise SetupFailed(f"cannot reach GitHub at {api_url}: {error}") from None
    if response.status_code != 201:
        raise SetupFailed(
            f"GitHub refused the manifest code (HTTP {response.status_code})",
            hint="codes expire after an hour and work once: run `countersign setup` again",
        )
    return AppCredentials.from_conversion(response.json())


class ManifestFlow:
    """One run of the flow: `start()` → the URL to open → `wait()` → the App's credentials."""

    def __init__(self, options: SetupOptions) -> None:
        self.options = options
        self.state = secrets.token_urlsafe(24)
        self.manifest: dict[str, Any] = {}
        self._outcome = _Outcome()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("start() the flow first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def start(self) -> str:
        refuse_overwrite([self.options.env_path, self.options.key_path], self.options.force)
        self._server = ThreadingHTTPServer((self.options.host, self.options.port), self._handler())
        try:
            self.manifest = build_manifest(
                self.options.app_yml,
                redirect_url=self.url.rstrip("/") + CALLBACK_PATH,
                public_url=self.options.public_url,
                name=self.options.name,
            )
        except CountersignError:
            self.stop()
            raise
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="countersign-setup", daemon=True
        )
        self._thread.start()
        return self.url

    def wait(self) -> AppCredentials:
        try:
            if not self._outcome.done.wait(self.options.timeout):
                raise SetupFailed(
                    f"no answer from GitHub within {self.options.timeout:.0f} s",
                    hint=f"open {self.url} in a browser signed in to GitHub",
                )
            if self._outcome.error or self._outcome.credentials is None:
                raise SetupFailed(self._outcome.error or "the flow ended without credentials")
            return self._outcome.credentials
        finally:
            self.stop()

    def stop(self) -> None:
        if self._thread is not None and self._server is not None:
            self._server.shutdown()
        if self._server is not None:
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    # --- HTTP ------------------------------------------------------------------------------
    def callback(self, query: dict[str, list[str]]) -> tuple[int, str]:
        """GitHub's redirect: check state, exchange the code once, write the credentials."""
        if self._outcome.done.is_set():
            return 409, "This setup run already finished; run `countersign setup` again."
        state = (query.get("state") or [""])[0]
        code = (query.get("code") or [""])[0]
        if not secrets.compare_digest(state.encode(), self.state.encode()):
            return 400, "The state does not match this setup run (a stale or forged link)."
        if not code:
            return 400, "GitHub sent no code."
        try:
            creds = exchange_code(self.options.api_url, code)
            write_credentials(
                creds,
                env_path=self.options.env_path,
                key_path=self.options.key_path,
                api_url=None if self.options.api_url == GITHUB_API_URL else self.options.api_url,
                force=self.options.force,
            )
        except CountersignError as error:
            self._outcome.error = str(error)
            self._outcome.done.set()
            return 502, f"Setup failed: {error}"
        self._outcome.credentials = creds
        self._outcome.done.set()
        install = f" ({creds.html_url}/installations/new)" if creds.html_url else ""
        return 200, (
            f"GitHub App {creds.slug or creds.app_id} registered; credentials written to "
            f"{self.options.env_path}. Next: install the App on your repositories{install}."
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        flow = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                if parts.path == "/":
                    action = form_action(flow.options.github_url, flow.options.org, flow.state)
                    self._send(200, form_page(action, flow.manifest), "text/html")
                elif parts.path == CALLBACK_PATH:
                    status, message = flow.callback(parse_qs(parts.query))
                    self._send(status, message, "text/plain")
                else:
                    self._send(404, "not found", "text/plain")

            def _send(self, status: int, body: str, content_type: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", f"{content_type}; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the CLI prints what matters (and the query holds a secret code)."""

        return Handler


def run_setup(options: SetupOptions, on_ready: Callable[[str], None]) -> AppCredentials:
    """Serve the form, tell the caller where (`on_ready(url)`), wait for GitHub's redirect."""
    flow = ManifestFlow(options)
    url = flow.start()
    try:
        on_ready(url)
    except BaseException:
        flow.stop()
        raise
    return flow.wait()
