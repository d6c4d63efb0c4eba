"""Write the new App's credentials: a private key file and a `.env`, both readable only by you."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.core.errors import CountersignError

PRIVATE = 0o600


class CredentialsExist(CountersignError):
    """A file we would write already exists (and --force was not given)."""


@dataclass(frozen=True)
class AppCredentials:
    """What GitHub's manifest conversion returns that the service needs."""

    app_id: int
    slug: str
    html_url: str
    pem: str
    webhook_secret: str
    client_id: str
    client_secret: str

    @classmethod
    def from_conversion(cls, body: dict[str, Any]) -> AppCredentials:
        missing = [
            k
            for k in ("id", "pem", "webhook_secret", "client_id", "client_secret")
            if not body.get(k)
        ]
        if missing:
            raise CountersignError(
                f"GitHub's conversion response lacks {', '.join(missing)}",
                hint="start `countersign setup` again (a code can be exchanged only once)",
            )
        return cls(
            app_id=int(body["id"]),
            slug=str(body.get("slug") or ""),
            html_url=str(body.get("html_url") or ""),
            pem=str(body["pem"]),
            webhook_secret=str(body["webhook_secret"]),
            client_id=str(body["client_id"]),
            client_secret=str(body["client_secret"]),
        )


def refuse_overwrite(paths: list[Path], force: bool) -> None:
    """Fail before anything happens on GitHub when a target exists and --force is not set."""
    if force:
        return
    for path in paths:
        if path.exists():
            raise CredentialsExist(
                f"{path} already exists; not overwriting it",
                file=str(path),
                hint="move it away, or pass --force to replace it",
            )


def _write_private(path: Path, text: str) -> None:
    """Create (or replace) `path` with mode 0600 from the first byte: no window where it is
    world-readable, whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    try:
        os.fchmod(fd, PRIVATE)
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


_BARE = re.compile(r"[A-Za-z0-9._/:@+=-]*")


def _quote(value: str) -> str:
    """Bare when safe (docker --env-file keeps quotes literally), else double-quoted for sh."""
    if _BARE.fullmatch(value):
        return value
    return (
        '"'
        + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
        + '"'
    )


def env_text(creds: AppCredentials, key_path: Path, api_url: str | None) -> str:
    lines = [
        f"# GitHub App {creds.slug or creds.app_id} ({creds.html_url}), written by countersign setup",
        f"COUNTERSIGN_APP_ID={creds.app_id}",
        f"COUNTERSIGN_PRIVATE_KEY_PATH={_quote(str(key_path.resolve()))}",
        f"COUNTERSIGN_WEBHOOK_SECRET={_quote(creds.webhook_secret)}",
        f"COUNTERSIGN_OAUTH_CLIENT_ID={_quote(creds.client_id)}",
        f"COUNTERSIGN_OAUTH_CLIENT_SECRET={_quote(creds.client_secret)}",
    ]
    if api_url:
        lines.append(f"COUNTERSIGN_GITHUB_API_URL={_quote(api_url)}")
    return "\n".join(lines) + "\n"


def write_credentials(
    creds: AppCredentials, *, env_path: Path, key_path: Path, api_url: str | None, force: bool
) -> None:
    refuse_overwrite([env_path, key_path], force)
    _write_private(key_path, creds.pem if creds.pem.endswith("\n") else creds.pem + "\n")
    _write_private(env_path, env_text(creds, key_path, api_url))
