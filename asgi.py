"""The production entry point:
`uvicorn --factory asgi:app_factory --workers N --forwarded-allow-ips "$CABINET_TRUSTED_PROXIES"`
(without the flag uvicorn believes X-Forwarded-For from 127.0.0.1).

Settings come from the environment (CABINET_*, DATABASE_URL); the database is
migrated beforehand with `cabinet migrate`.
"""
from __future__ import annotations

from starlette.applications import Starlette

from app import create_app
from cli import logging_setup
from config import Settings


def app_factory() -> Starlette:
    logging_setup()
    return create_app(Settings())
