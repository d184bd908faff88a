"""Browser tests: the real app under uvicorn over HTTP, driven by headless Chromium.

`serve(app)` runs any ASGI app (or, with factory=True, a callable that makes
one) under uvicorn in a daemon thread with its own event loop, on a free port
of 127.0.0.1, and yields the base URL once the ready path answers 200. It stops
the server when the block ends; the thread is a daemon, so it never outlives
the test session. The `live_server` fixture serves create_app(settings).

The browser is Debian's /usr/bin/chromium (CABINET_CHROMIUM overrides it),
driven by Playwright without `playwright install`. CABINET_BROWSER_TESTS=0
skips these tests (CI runs them in one pass only); otherwise a missing
Chromium is a failure, not a skip.
"""
from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from cabinet.config import Settings

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


@contextlib.contextmanager
def serve(
    app: Any,
    *,
    factory: bool = False,
    ready_path: str = "/healthz",
    timeout: float = 30.0,
    host: str = "127.0.0.1",
) -> Iterator[str]:
    """Serve an ASGI app over real HTTP in a background thread; yield its base URL.

    The server runs its own event loop in the thread, so anything bound to a loop
    (asyncpg connections, the app's lifespan) lives there. With factory=True, `app`
    is a zero-argument callable that uvicorn calls in that thread to make the app.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    base_url = f"http://{host}:{port}"
    config = uvicorn.Config(
        app,
        factory=factory,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as error:  # reported by the waiting side
            failure.append(error)

    thread = threading.Thread(target=run, name=f"uvicorn:{port}", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + timeout
        last = "no answer"
        with httpx.Client(base_url=base_url, timeout=2.0, trust_env=False) as client:
            while True:
                if failure or not thread.is_alive():
                    raise RuntimeError(f"the server at {base_url} stopped while starting") from (
                        failure[0] if failure else None
                    )
                if server.started:
                    try:
                        response = client.get(ready_path)
                        if response.status_code == 200:
                            break
                        last = f"{response.status_code} {response.text[:200]}"
                    except httpx.TransportError as error:
                        last = repr(error)
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{base_url}{ready_path} not ready after {timeout}s: {last}")
                time.sleep(0.05)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The base URL of create_app(settings) served over HTTP on 127.0.0.1."""
    from cabinet.app import create_app

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
