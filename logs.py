"""Logs as JSON lines: one object per record, the message escaped, the request id and any
exception as fields of their own (python-json-logger)."""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

FIELDS = {"asctime": "time", "levelname": "level", "name": "logger"}


def json_formatter() -> JsonFormatter:
    # Extra fields given to a log call (request_id=…) come out as fields; a traceback as
    # "exc_info", one escaped string.
    return JsonFormatter("{asctime}{levelname}{name}{message}", style="{", rename_fields=FIELDS)


def logging_setup(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the process, uvicorn's own loggers included. Like
    logging.basicConfig, it leaves a root logger that is configured already (a test runner,
    an embedding program) as it is."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter())
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
