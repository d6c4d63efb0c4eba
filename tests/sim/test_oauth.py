"""The simulated OAuth user flow behaves like GitHub's: consent redirects with a code and the
state, codes are single-use and need the App's secret, refusals are 200 with an `error`, and
`GET /user` answers only to a user token."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.sim.auth import app_key_pair
from app.sim.server import SimServer
from app.sim.simulator import Simulator

CALLBACK = "http://127.0.0.1:9/console/callback"


@pytest.fixture
def sim() -> Iterator[tuple[Simulator, str]]:
    _, public = app_key_pair()
    with Simulator() as simulator, SimServer(simulator) as server:
        simulator.set_app(4242, public, webhook_url=None, webhook_secret="w" * 20)
        simulator.add_user("erin")
        simulator.set_oauth_callback(CALLBACK)
        yield simulator, server.base_url


def _authorize(base: str, sim: Simulator, **extra: str) -> httpx.Response:
    assert sim.world.app is not None
    params = {"client_id": sim.world.app.client_id, "redirect_uri": CALLBACK, "state": "s1"}
    return httpx.get(f"{base}/login/oauth/authorize", params={**params, **extra})


def _exchange(base: str, sim: Simulator, code: str, secret: str | None = None) -> dict[str, str]:
    assert sim.world.app is not None
    answer = httpx.post(
        f"{base}/login/oauth/access_token",
        data={
            "client_id": sim.world.app.client_id,
            "client_secret": secret if secret is not None else sim.world.app.client_secret,
            "code": code,
            "redirect_uri": CALLBACK,
        },
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 200  # GitHub answers 200 even when it refuses
    body: dict[str, str] = answer.json()
    return body


def test_consent_redirects_with_a_single_use_code_and_the_state(
    sim: tuple[Simulator, str],
) -> None:
    simulator, base = sim
    simulator.oauth_sign_in("erin")
    answer = _authorize(base, simulator)
    assert answer.status_code == 302
    target = urlsplit(answer.headers["location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == CALLBACK
    assert query["state"] == ["s1"]
    code = query["code"][0]
    assert _exchange(base, simulator, code, secret="wrong")["error"] == (
        "incorrect_client_credentials"
    )
    token = _exchange(base, simulator, code)["access_token"]
    assert token.startswith("ghu_")
    assert _exchange(base, simulator, code)["error"] == "bad_verification_code"
    me = httpx.get(f"{base}/api/v3/user", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["login"] == "erin"


def test_get_user_needs_a_user_token(sim: tuple[Simulator, str]) -> None:
    _simulator, base = sim
    assert httpx.get(f"{base}/api/v3/user").status_code == 401
    bogus = httpx.get(f"{base}/api/v3/user", headers={"Authorization": "Bearer ghu_nope"})
    assert bogus.status_code == 401


def test_unknown_client_and_foreign_redirect_are_refused(sim: tuple[Simulator, str]) -> None:
    simulator, base = sim
    simulator.oauth_sign_in("erin")
    assert _authorize(base, simulator, client_id="Iv1.0000").status_code == 404
    assert _authorize(base, simulator, redirect_uri="http://evil.example/cb").status_code == 400
    below = _authorize(base, simulator, redirect_uri=CALLBACK + "/deeper")
    assert below.status_code == 302  # a path below a registered callback is allowed


def test_nobody_signed_in_gets_the_sign_in_form(sim: tuple[Simulator, str]) -> None:
    simulator, base = sim
    form = _authorize(base, simulator)
    assert form.status_code == 200 and 'name="login"' in form.text
    action = form.text.split('action="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    with httpx.Client(base_url=base) as client:
        signed = client.post(action, data={"login": "erin"})
        assert signed.status_code == 302
        assert simulator.world.signed_in == "erin"
        assert client.post(action, data={"login": "nobody"}).status_code == 404
