"""SIGTERM in two steps: first /readyz answers 503 while requests are still served, so the
load balancer takes the process out; after CABINET_SHUTDOWN_DRAIN the server's own graceful
shutdown follows (uvicorn: stop accepting, finish the requests in flight, close WebSockets
with 1012, then the app's lifespan ends).

uvicorn has no such step. It installs its SIGTERM handler before the app starts, so the
app's start-up puts its own in front of it and hands the signal on after the drain. A
second SIGTERM is handed on at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable

from starlette.applications import Starlette

log = logging.getLogger(f"cabinet.{__name__}")


def drain_on_sigterm(app: Starlette, seconds: float) -> Callable[[], None]:
    """Install the two-step SIGTERM; returns what puts the previous handler back."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if not callable(previous):
        return lambda: None  # no server's handler to hand over to (the default kills at once)
    loop = asyncio.get_running_loop()
    handed_on = False

    def hand_on(sig: int, frame) -> None:
        nonlocal handed_on
        if not handed_on:
            handed_on = True
            previous(sig, frame)

    def on_sigterm(sig: int, frame) -> None:
        if app.state.stopping:
            hand_on(sig, frame)
            return
        app.state.stopping = True
        log.info("SIGTERM: /readyz answers 503 for %.1f s, then the server stops", seconds)
        loop.call_soon_threadsafe(loop.call_later, seconds, hand_on, sig, frame)

    signal.signal(signal.SIGTERM, on_sigterm)

    def restore() -> None:
        if signal.getsignal(signal.SIGTERM) is on_sigterm:
            signal.signal(signal.SIGTERM, previous)

    return restore
