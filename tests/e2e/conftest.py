"""Browser tests: a real Chromium, driven by Playwright, against pytest-django's live server."""

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an asyncio event loop in the test's thread. Django sees that
# loop and refuses ORM calls made from the test (creating fixtures, reading rows) with
# SynchronousOnlyOperation, although the test never awaits anything: the calls are plain
# blocking calls made between browser steps. The live server answers in its own thread,
# where no loop runs, so the application itself is unaffected.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path(os.environ.get("KYVS_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM}; set KYVS_CHROMIUM to its path"
        if os.environ.get("KYVS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"KYVS_REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # Playwright adds its own --headless; the rest keep Chromium quiet and
            # runnable as root in a container.
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    # Auto-waiting steps fail after this long instead of hanging the suite.
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Save the current screen as tests/e2e/screenshots/<name>.png (full page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str, *, on=None) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        return path

    return take
