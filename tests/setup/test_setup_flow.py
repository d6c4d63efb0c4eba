"""`countersign setup` end to end against the simulator: the browser step is driven with plain
HTTP (GET the local form, POST the manifest to the simulated github.com, follow the redirect to
the local callback), and the credentials written must then work against the simulator."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import httpx
import pytest

from app.config.settings import shipped_dir
from app.core.errors import CountersignError
from app.github.client import GitHubApp
from app.setup.envfile import CredentialsExist
from app.setup.flow import ManifestFlow, SetupFailed, SetupOptions, exchange_code
from app.setup.manifest import load_app_yml
from app.sim.server import SimServer
from app.sim.simulator import Simulator

PUBLIC_URL = "https://countersign.acme.example"


@pytest.fixture
def sim() -> Iterator[tuple[Simulator, SimServer]]:
    simulator = Simulator()
    server = SimServer(simulator)
    server.start()
    try:
        yield simulator, server
    finally:
        server.stop()
        simulator.close()


def options(tmp_path: Path, server: SimServer, **kw: object) -> SetupOptions:
    base: dict[str, object] = {
        "app_yml": load_app_yml(shipped_dir("app.yml")),
        "env_path": tmp_path / ".env",
        "key_path": tmp_path / "countersign.private-key.pem",
        "github_url": server.base_url,
        "api_url": server.api_url,
        "org": "acme",
        "public_url": PUBLIC_URL,
        "timeout": 30.0,
    }
    base.update(kw)
    return SetupOptions(**base)  # type: ignore[arg-type]


def browser(local_url: str) -> httpx.Response:
    """What a browser does: load the form, submit it to GitHub, follow GitHub's redirect."""
    page = httpx.get(local_url, timeout=10)
    assert page.status_code == 200
    action = unescape(re.search(r"action='([^']*)'", page.text).group(1))  # type: ignore[union-attr]
    manifest = unescape(re.search(r"name='manifest' value='([^']*)'", page.text).group(1))  # type: ignore[union-attr]
    assert "document.getElementById('manifest').submit()" in page.text  # submits itself
    posted = httpx.post(action, data={"manifest": manifest}, timeout=10)
    assert posted.status_code == 302, posted.text
    location = posted.headers["location"]
    assert location.startswith(local_url.rstrip("/") + "/callback?")
    return httpx.get(location, timeout=30)


def env_values(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {k: v.strip('"') for k, v in pairs if not k.startswith("#")}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_setup_registers_the_app_and_the_credentials_work(
    sim: tuple[Simulator, SimServer], tmp_path: Path
) -> None:
    simulator, server = sim
    flow = ManifestFlow(options(tmp_path, server))
    url = flow.start()
    answer = browser(url)
    assert answer.status_code == 200, answer.text
    creds = flow.wait()

    env = tmp_path / ".env"
    key = tmp_path / "countersign.private-key.pem"
    assert mode(env) == 0o600 and mode(key) == 0o600
    values = env_values(env)
    app = simulator.world.app
    assert app is not None and values["COUNTERSIGN_APP_ID"] == str(app.id) == str(creds.app_id)
    assert values["COUNTERSIGN_PRIVATE_KEY_PATH"] == str(key.resolve())
    assert values["COUNTERSIGN_WEBHOOK_SECRET"] == app.webhook_secret
    assert values["COUNTERSIGN_OAUTH_CLIENT_ID"] and values["COUNTERSIGN_OAUTH_CLIENT_SECRET"]
    assert values["COUNTERSIGN_GITHUB_API_URL"] == server.api_url
    # GitHub registered what app.yml asked for, owned by the organization.
    assert app.owner == "acme"
    assert app.webhook_url == f"{PUBLIC_URL}/webhooks/github"
    assert set(app.events) == set(load_app_yml(shipped_dir("app.yml"))["default_events"])
    # The written key is the App's: a JWT call and an installation token both work.
    github = GitHubApp(int(values["COUNTERSIGN_APP_ID"]), key.read_text(), base_url=server.api_url)
    assert github.app_client().json("GET", "/app")["id"] == app.id
    simulator.add_org("acme")
    simulator.create_repo("acme/platform", files={"README.md": "# platform\n"})
    inst = simulator.install("acme")
    repos = github.installation(inst.id).json("GET", "/installation/repositories")
    assert [r["full_name"] for r in repos["repositories"]] == ["acme/platform"]


def test_a_code_works_once(sim: tuple[Simulator, SimServer], tmp_path: Path) -> None:
    _, server = sim
    flow = ManifestFlow(options(tmp_path, server))
    url = flow.start()
    page = httpx.get(url, timeout=10).text
    action = unescape(re.search(r"action='([^']*)'", page).group(1))  # type: ignore[union-attr]
    manifest = unescape(re.search(r"value='([^']*)'", page).group(1))  # type: ignore[union-attr]
    location = httpx.post(action, data={"manifest": manifest}, timeout=10).headers["location"]
    code = re.search(r"code=([^&]+)", location).group(1)  # type: ignore[union-attr]
    assert exchange_code(server.api_url, code).app_id > 0
    with pytest.raises(SetupFailed, match="HTTP 404"):
        exchange_code(server.api_url, code)
    flow.stop()


def test_a_forged_state_is_refused_and_nothing_is_written(
    sim: tuple[Simulator, SimServer], tmp_path: Path
) -> None:
    simulator, server = sim
    flow = ManifestFlow(options(tmp_path, server, timeout=1.0))
    url = flow.start()
    forged = httpx.get(f"{url}callback?code=abc&state=not-the-state", timeout=10)
    assert forged.status_code == 400 and "state" in forged.text
    assert simulator.world.app is None  # the code was never exchanged
    assert not (tmp_path / ".env").exists()
    with pytest.raises(SetupFailed, match="no answer"):
        flow.wait()


def test_an_existing_env_is_not_overwritten_without_force(
    sim: tuple[Simulator, SimServer], tmp_path: Path
) -> None:
    _, server = sim
    env = tmp_path / ".env"
    env.write_text("COUNTERSIGN_APP_ID=1\n")
    with pytest.raises(CredentialsExist, match="already exists"):
        ManifestFlow(options(tmp_path, server)).start()  # refused before GitHub is involved
    assert env.read_text() == "COUNTERSIGN_APP_ID=1\n"
    flow = ManifestFlow(options(tmp_path, server, force=True))
    assert browser(flow.start()).status_code == 200
    creds = flow.wait()
    assert env_values(env)["COUNTERSIGN_APP_ID"] == str(creds.app_id)
    assert mode(env) == 0o600


def test_the_cli_runs_the_flow(sim: tuple[Simulator, SimServer], tmp_path: Path) -> None:
    """`countersign setup --no-browser` prints the URL to open and exits 0 once GitHub answered."""
    simulator, server = sim
    command = [
        sys.executable,
        "-m",
        "app.cli.main",
        "setup",
        "--no-browser",
        "--github-url",
        server.base_url,
        "--api-url",
        server.api_url,
        "--public-url",
        PUBLIC_URL,
        "--timeout",
        "60",
    ]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = re.search(r"Open (http://127\.0\.0\.1:\d+/)", first)
        assert url, first + (proc.stderr.read() if proc.stderr else "")
        assert browser(url.group(1)).status_code == 200
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Registered GitHub App" in out
    assert simulator.world.app is not None and simulator.world.app.owner == "octocat"
    assert mode(tmp_path / ".env") == 0o600
    assert mode(tmp_path / "countersign.private-key.pem") == 0o600


def test_manifest_errors_name_the_field(tmp_path: Path) -> None:
    from app.setup.manifest import build_manifest

    base = load_app_yml(shipped_dir("app.yml"))
    with pytest.raises(CountersignError, match="unknown manifest field"):
        build_manifest({**base, "hook_url": "x"}, redirect_url="http://127.0.0.1/cb")
    with pytest.raises(CountersignError, match=r"default_permissions\.checks"):
        build_manifest(
            {**base, "default_permissions": {"checks": "all"}}, redirect_url="http://x/cb"
        )
    manifest = build_manifest(base, redirect_url="http://127.0.0.1:1/callback", name="CS Acme")
    assert manifest["name"] == "CS Acme"
    assert manifest["redirect_url"] == "http://127.0.0.1:1/callback"
    assert manifest["default_permissions"] == base["default_permissions"]
    assert manifest["default_events"] == base["default_events"]
    assert manifest["hook_attributes"]["url"] == base["hook_attributes"]["url"]
