#!/usr/bin/env python3
"""Screenshots of every console page for the README, on the demo scenario's data.

    PYTHONPATH=. .venv/bin/python scripts/console-screenshots.py [--out docs/console]

Reuses the browser tests' harness (tests/console): the real service and the GitHub simulator on
loopback, seeded by playing the demo scenario, and Debian's chromium driven by Playwright.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.console.browser import launch, sign_in  # noqa: E402
from tests.console.harness import BYPASS_PR, ConsoleStack  # noqa: E402

WIDTH, HEIGHT = 1280, 860


def shoot(page: Page, out: Path, name: str) -> None:
    page.screenshot(path=str(out / f"{name}.png"), full_page=True)
    print(f"wrote {out / f'{name}.png'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console")
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as folder,
        ConsoleStack(Path(folder)) as console,
        sync_playwright() as playwright,
    ):
        browser = launch(playwright)
        try:
            context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
            page = context.new_page()
            sign_in(page, console, "erin")
            shoot(page, out, "merges")
            page.goto(f"{console.url}/console/merges/acme/platform/3")
            shoot(page, out, "evidence")
            page.goto(f"{console.url}/console/merges/acme/platform/{BYPASS_PR}")
            page.fill("textarea[name=note]", "CAB ticket OPS-12 approved the decommission.")
            shoot(page, out, "bypass-review")
            for name, path in (
                ("agents", "/console/agents"),
                ("chain", "/console/chain"),
                ("export", "/console/export"),
                ("who-can", "/console/who-can?action=propose&kind=pricing"),
            ):
                page.goto(console.url + path)
                if name == "chain":
                    page.get_by_role("button", name="Verify now").click()
                    page.wait_for_url(f"{console.url}/console/chain")
                shoot(page, out, name)
            outsider = browser.new_context(viewport={"width": WIDTH, "height": 420}).new_page()
            sign_in(outsider, console, "dave", "/console/login")
            shoot(outsider, out, "forbidden")
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
