"""app.yml → the GitHub App manifest JSON GitHub's registration form takes.

Only the fields GitHub's manifest flow knows are sent (`name`, `url`, `hook_attributes`,
`redirect_url`, `callback_urls`, `setup_url`, `description`, `public`, `default_permissions`,
`default_events`, `request_oauth_on_install`, `setup_on_update`); an unknown key or a wrong type
in app.yml is an error naming the key, not a silently different App.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.core.errors import CountersignError
from app.core.yamlsafe import load_yaml

WEBHOOK_PATH = "/webhooks/github"
_STRINGS = ("name", "url", "redirect_url", "setup_url", "description")
_BOOLS = ("public", "request_oauth_on_install", "setup_on_update")
_ACCESS = frozenset({"read", "write", "admin"})
KNOWN = frozenset(
    {
        *_STRINGS,
        *_BOOLS,
        "hook_attributes",
        "callback_urls",
        "default_permissions",
        "default_events",
    }
)


class ManifestError(CountersignError):
    """app.yml cannot be turned into a GitHub App manifest."""


def load_app_yml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(f"cannot read {path}: {error.strerror}", file=str(path)) from None
    data = load_yaml(text, str(path))
    if not isinstance(data, dict):
        raise ManifestError("app.yml must be a mapping of manifest fields", file=str(path))
    return data


def build_manifest(
    app_yml: dict[str, Any],
    *,
    redirect_url: str,
    public_url: str | None = None,
    name: str | None = None,
    source: str = "app.yml",
) -> dict[str, Any]:
    """The manifest to POST. `public_url` (where GitHub can reach `countersign serve`) replaces
    the webhook URL; `redirect_url` is where GitHub sends the browser back with the code."""
    unknown = sorted(set(app_yml) - KNOWN)
    if unknown:
        raise ManifestError(
            f"unknown manifest field(s) {', '.join(unknown)}",
            file=source,
            hint=f"GitHub's manifest takes: {', '.join(sorted(KNOWN))}",
        )
    out: dict[str, Any] = {}
    for key in _STRINGS:
        if key in app_yml:
            if not isinstance(app_yml[key], str):
                raise ManifestError(f"{key} must be a string", file=source)
            out[key] = app_yml[key]
    for key in _BOOLS:
        if key in app_yml:
            if not isinstance(app_yml[key], bool):
                raise ManifestError(f"{key} must be true or false", file=source)
            out[key] = app_yml[key]
    permissions = app_yml.get("default_permissions") or {}
    if not isinstance(permissions, dict):
        raise ManifestError("default_permissions must map permission → read|write", file=source)
    for scope, access in permissions.items():
        if access not in _ACCESS:
            raise ManifestError(
                f"default_permissions.{scope}: {access!r} is not read, write or admin", file=source
            )
    out["default_permissions"] = {str(k): str(v) for k, v in permissions.items()}
    events = app_yml.get("default_events") or []
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        raise ManifestError("default_events must be a list of event names", file=source)
    out["default_events"] = list(events)
    callbacks = app_yml.get("callback_urls") or []
    if not isinstance(callbacks, list) or len(callbacks) > 10:
        raise ManifestError("callback_urls must be a list of at most 10 URLs", file=source)
    if callbacks:
        out["callback_urls"] = [str(c) for c in callbacks]
    hook = dict(app_yml.get("hook_attributes") or {})
    if public_url:
        hook["url"] = public_url.rstrip("/") + WEBHOOK_PATH
    if not isinstance(hook.get("url"), str):
        raise ManifestError("hook_attributes.url is missing", file=source, hint="pass --public-url")
    out["hook_attributes"] = {"url": hook["url"], "active": bool(hook.get("active", True))}
    if name:
        out["name"] = name
    if "url" not in out:
        raise ManifestError("url (the App's homepage) is required by GitHub", file=source)
    out["redirect_url"] = redirect_url
    return out
