"""The production entry point:
`uvicorn --factory asgi:app_factory --workers N --forwarded-allow-ips "$CABINET_TRUSTED_PROXIES"`
(without the flag uvicorn believes X-Forwarded-For from 127.0.0.1).

Settings come from the environment (CABINET_*, DATABASE_URL); the database is
migrated beforehand with `cabinet migrate`.
"""

from __future__ import annotations

import gc

from starlette.applications import Starlette

from app import create_app
from config import Settings
from logs import logging_setup

# Young objects of one request are many and short-lived: collect the youngest generation less
# often than CPython's 700 allocations (fewer pauses in the p99), the older ones as usual.
GC_THRESHOLDS = (20_000, 10, 10)


def app_factory() -> Starlette:
    logging_setup()
    app = create_app(Settings())
    # What start-up made (the schema, imports, settings) lives as long as the process: move it
    # out of the collector's sight so full collections scan only what requests make.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app
