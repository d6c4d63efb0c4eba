"""`countersign setup` behind the CLI: choose the manifest, print or run the flow, report."""

from __future__ import annotations

import json
import webbrowser
from collections.abc import Callable
from pathlib import Path

from app.config.settings import shipped_dir
from app.setup.envfile import AppCredentials
from app.setup.flow import SetupOptions, run_setup
from app.setup.manifest import build_manifest, load_app_yml


def app_yml_path(given: Path | None) -> Path:
    """The App manifest: the given file, else the one shipped with the package."""
    return given if given is not None else shipped_dir("app.yml")


def print_manifest(path: Path, *, public_url: str | None, name: str | None) -> str:
    """The manifest JSON as it would be posted (redirect_url shown as a placeholder)."""
    manifest = build_manifest(
        load_app_yml(path),
        redirect_url="http://127.0.0.1:PORT/callback",
        public_url=public_url,
        name=name,
        source=str(path),
    )
    return json.dumps(manifest, indent=2)


def setup_app(
    options: SetupOptions, *, open_browser: bool, say: Callable[[str], None]
) -> AppCredentials:
    def ready(url: str) -> None:
        say(f"Open {url} in a browser signed in to GitHub to register the App.")
        if open_browser:
            webbrowser.open(url)

    creds = run_setup(options, ready)
    say(f"Registered GitHub App {creds.slug or creds.app_id} (id {creds.app_id}).")
    say(f"Wrote {options.env_path} and {options.key_path} (mode 0600).")
    say(
        "Next: install the App on your repositories, load the settings "
        f"(`set -a; . {options.env_path}; set +a`) and run `countersign serve`."
    )
    return creds
