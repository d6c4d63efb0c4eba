"""`countersign demo --keep-serving` leaves the console browsable with a demo-only sign-in;
the app `countersign serve` builds has no such route."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
import pytest
from rich.console import Console

from app.config.settings import Settings
from app.demo.run import run_demo
from app.service.app import create_app

pytestmark = pytest.mark.e2e


def test_demo_keeps_the_console_up_with_a_demo_sign_in(tmp_path: Path) -> None:
    output = io.StringIO()
    seen: dict[str, object] = {}

    def browse() -> None:  # runs while the demo serves; returning ends the demo
        printed = output.getvalue()
        match = re.search(r"open\s+(http://127\.0\.0\.1:\d+/console/demo-sign-in)", printed)
        assert match is not None, printed
        with httpx.Client(timeout=30, headers={"Accept": "text/html"}) as client:
            page = client.get(match.group(1), follow_redirects=True)
            seen["status"] = page.status_code
            seen["url"] = str(page.url)
            seen["signed_in"] = 'data-testid="signed-in-as">erin<' in page.text
            seen["bypass"] = "needs review" in page.text

    ok = run_demo(
        tmp_path / "demo.db",
        Console(file=output, width=200),
        keep_serving=True,
        wait=browse,
    )
    assert ok
    assert seen == {
        "status": 200,
        "url": seen["url"],
        "signed_in": True,
        "bypass": True,
    }
    assert str(seen["url"]).endswith("/console/merges")
    assert (tmp_path / "demo-signing-key.pub.pem").read_text().startswith("-----BEGIN PUBLIC KEY")


def test_serve_has_no_demo_sign_in() -> None:
    app = create_app(Settings())
    paths = {getattr(route, "path", "") for route in app.router.routes}
    assert "/console/demo-sign-in" not in paths
    for router in app.router.routes:
        original = getattr(router, "original_router", None)
        if original is not None:
            assert all(getattr(r, "path", "") != "/console/demo-sign-in" for r in original.routes)
