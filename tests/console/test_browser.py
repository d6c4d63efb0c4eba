"""The console in a real browser (Debian's chromium through Playwright), on the demo's data:
sign in → merges → filter → evidence → signed export → verify it; review a bypass merge; a user
outside the teams gets 403; an XSS title stays inert (any dialog fails the test)."""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect, sync_playwright

from app.store.audit.signing import load_public_key, verify_bundle
from tests.console.browser import CHROMIUM, launch, sign_in
from tests.console.harness import BYPASS_PR, XSS_PR, ConsoleStack

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    # In CI (.ci/run installs chromium) a missing browser is a failure, never a silent skip.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason=f"{CHROMIUM} is missing: `apt-get install -y chromium` (.ci/run does this in CI)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True)
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        opened.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    context.on("dialog", on_dialog)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()
    assert opened == [], f"a script ran and opened dialogs: {opened}"


def test_sign_in_filter_open_evidence_and_verify_a_signed_export(
    page: Page, console: ConsoleStack, tmp_path: Path
) -> None:
    sign_in(page, console, "erin")
    expect(page).to_have_url(f"{console.url}/console/merges")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("erin")
    expect(page.get_by_test_id("merge-row")).to_have_count(3)

    page.select_option("select[name=agent]", "pricing-bot")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_test_id("merge-count")).to_have_text("1")
    page.get_by_role("link", name="acme/platform#3").click()
    expect(page.get_by_role("heading", name="Cut the Pro plan from $49 to $29.40")).to_be_visible()
    expect(page.locator("td", has_text="run_pricing_q4_042").first).to_be_visible()
    expect(page.locator("span.pass", has_text="PASS")).to_be_visible()

    page.get_by_role("link", name="Export").click()
    page.fill("input[name=agent]", "pricing-bot")
    page.get_by_role("button", name="Apply").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-bundle").click()
    archive = tmp_path / "bundle.zip"
    download.value.save_as(archive)
    folder = tmp_path / "bundle"
    zipfile.ZipFile(archive).extractall(folder)
    assert verify_bundle(folder, load_public_key(console.public_key_path)) == 1


def test_mark_a_bypass_merge_reviewed(page: Page, console: ConsoleStack) -> None:
    sign_in(page, console, "erin", f"/console/merges/acme/platform/{BYPASS_PR}")
    expect(page.locator("span.fail", has_text="needs review")).to_be_visible()
    page.fill("textarea[name=note]", "CAB ticket OPS-12: decommission approved after the fact")
    page.get_by_role("button", name="Mark reviewed").click()
    expect(page.locator("td", has_text="OPS-12")).to_be_visible()
    expect(page.get_by_role("button", name="Mark reviewed")).to_have_count(0)
    page.goto(f"{console.url}/console/merges?bypass=yes")
    expect(page.get_by_test_id("merge-row")).to_contain_text("reviewed by erin")


def test_a_user_outside_the_teams_gets_403(page: Page, console: ConsoleStack) -> None:
    console.stack.sim.oauth_sign_in("dave")
    answer = page.goto(f"{console.url}/console/login")
    assert answer is not None and answer.status == 403
    expect(page.get_by_test_id("error-message")).to_contain_text("dave is not an active member")
    again = page.goto(f"{console.url}/console/merges")  # no session: sign-in again, refused again
    assert again is not None and again.status == 403
    expect(page.get_by_test_id("merge-row")).to_have_count(0)


def test_an_xss_title_is_inert(page: Page, console: ConsoleStack) -> None:
    sign_in(page, console, "erin")
    title = page.locator("[data-testid=merge-row] .title").first
    expect(title).to_contain_text("<script>window.__xss=1;")
    page.goto(f"{console.url}/console/merges/acme/platform/{XSS_PR}")
    expect(
        page.locator("code", has_text="docs/<img src=x onerror=alert(3)>.md").first
    ).to_be_visible()
    assert page.evaluate("() => window.__xss === undefined")
    assert page.locator("img").count() == 0
