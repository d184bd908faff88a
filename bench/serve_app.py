"""The app as production starts it, for `uvicorn --factory --workers N bench.serve_app:create`.

It calls the production entry point `asgi:app_factory` (settings from the
environment: DATABASE_URL, CABINET_*). BENCH_APP_FROM, set by `bench.run --app-from DIR`,
puts another copy of the `cabinet` package first on the path (e.g. an earlier commit,
unpacked with `git archive`), for before/after figures on the same data and server.
"""

from __future__ import annotations

import os
import sys

if os.environ.get("BENCH_APP_FROM"):
    sys.path.insert(0, os.environ["BENCH_APP_FROM"])


def create():
    try:
        from asgi import app_factory
    except ImportError:  # a tree from before the production entry point
        import logging

        from app import create_app
        from config import Settings

        logging.basicConfig(level=logging.INFO)
        return create_app(Settings())
    return app_factory()
