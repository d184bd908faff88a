"""Logs are JSON lines: the message escaped, the request id and the exception as fields."""

from __future__ import annotations

import io
import json
import logging

from logs import json_formatter


def test_a_log_line_is_json_with_the_request_id_and_the_exception_as_fields():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    logger = logging.getLogger("cabinet.test-logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            raise ValueError('a "quoted"\nvalue')
        except ValueError:
            logger.error('failed on "%s"', "x\ty", exc_info=True, extra={"request_id": "abc123"})
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1  # the traceback is inside the line, not after it
    record = json.loads(lines[0])
    assert record["message"] == 'failed on "x\ty"'
    assert record["level"] == "ERROR" and record["logger"] == "cabinet.test-logs" and record["time"]
    assert record["request_id"] == "abc123"
    assert "ValueError" in record["exc_info"] and 'a "quoted"' in record["exc_info"]
