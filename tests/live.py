"""Serving apps over real HTTP for tests: `serve`, and the cabinet with its sandbox bank.

`serve(app)` runs any ASGI app (or, with factory=True, a zero-argument callable
that makes one) under uvicorn in a daemon thread with its own event loop, on a
free port of 127.0.0.1, and yields the base URL once the ready path answers
200. It stops the server when the block ends; the thread is a daemon, so it
never outlives the test session.

An app that must know its own URL before it exists (the cabinet with the
sandbox bank calls itself back at `public_url`) takes the port first:
`sock = free_socket()`, then `serve(make, factory=True, sock=sock)`;
`cabinet_served(settings)` does exactly that.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import uvicorn

from config import Settings


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A socket bound to a free port of `host`, for `serve(..., sock=...)`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextlib.contextmanager
def serve(
    app: Any,
    *,
    factory: bool = False,
    sock: socket.socket | None = None,
    ready_path: str = "/healthz",
    timeout: float = 30.0,
    host: str = "127.0.0.1",
    **uvicorn_options: Any,
) -> Iterator[str]:
    """Serve an ASGI app over real HTTP in a background thread; yield its base URL.

    The server runs its own event loop in the thread, so anything bound to a loop
    (asyncpg connections, the app's lifespan) lives there. With factory=True, `app`
    is a zero-argument callable that uvicorn calls in that thread to make the app.
    A given `sock` (see free_socket) is served and closed at the end. Further
    keywords go to uvicorn.Config (e.g. the proxy options production uses).
    """
    sock = sock or free_socket(host)
    base_url = base_url_of(sock)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        factory=factory,
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
        **uvicorn_options,
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


@contextlib.contextmanager
def cabinet_served(settings: Settings, **updates: Any) -> Iterator[str]:
    """create_app over HTTP with the sandbox bank mounted and public_url = its own base URL,
    so checkout_url, bank_api_url and the bank's callbacks all reach this very server.
    uvicorn trusts X-Forwarded-For as `cabinet run` does: from CABINET_TRUSTED_PROXIES only."""
    from app import create_app
    from routes.client_address import uvicorn_proxy_options

    sock = free_socket()
    live = settings.model_copy(update={"public_url": base_url_of(sock), "sandbox_bank": True, **updates})
    # create_app runs in the server's thread: the engine and its connections belong to that loop.
    with serve(lambda: create_app(live), factory=True, sock=sock, **uvicorn_proxy_options(live)) as url:
        yield url
