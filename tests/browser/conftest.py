"""Browser tests: the real app under uvicorn over HTTP, driven by headless Chromium.

`serve` (tests/live.py) runs an ASGI app under uvicorn in a daemon thread on a
free port of 127.0.0.1. The `live_server` fixture serves create_app(settings).

The browser is Debian's /usr/bin/chromium (CABINET_CHROMIUM overrides it),
driven by Playwright without `playwright install`. CABINET_BROWSER_TESTS=0
skips these tests (CI runs them in one pass only); otherwise a missing
Chromium is a failure, not a skip.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from config import Settings
from tests.live import serve  # noqa: F401  (re-exported: browser tests import it from here too)

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("CABINET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("CABINET_BROWSER_TESTS") != "0":
        return
    skip = pytest.mark.skip(reason="browser tests are off: CABINET_BROWSER_TESTS=0 (CI runs them in one pass)")
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(skip)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The base URL of create_app(settings) served over HTTP on 127.0.0.1."""
    from app import create_app

    # create_app runs in the server's thread: the engine and its connections belong to that loop.
    with serve(lambda: create_app(settings), factory=True) as url:
        yield url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Any]:
    """Headless Debian Chromium under Playwright, one per session."""
    try:
        from playwright.async_api import async_playwright
    except ImportError:  # pragma: no cover - the test extras install it
        pytest.fail("the browser tests need the playwright package: pip install -e '.[test]'", pytrace=False)
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM}: apt-get install -y chromium "
            "(or set CABINET_BROWSER_TESTS=0 to skip them)",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def page(browser: Any) -> AsyncIterator[Any]:
    """A fresh page in its own context (empty storage), closed after the test."""
    context = await browser.new_context(locale="uk-UA", viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    yield page
    await context.close()


@pytest.fixture
def page_requests(page: Any) -> list[str]:
    """The URLs of every request the page makes (recorded from its creation)."""
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    return urls
