"""Driving Debian's chromium with Playwright (its own browser download is not reachable here)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Browser, Page, Playwright

from tests.console.harness import ConsoleStack

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)


def sign_in(page: Page, console: ConsoleStack, login: str, start: str = "/console/merges") -> None:
    """Open a console page signed out, and sign in with (simulated) GitHub as `login`."""
    console.stack.sim.oauth_sign_in(login)
    page.goto(console.url + start)
