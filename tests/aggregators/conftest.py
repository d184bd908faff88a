"""Fixtures of the aggregator tests: the RES, the terms and the demo logins (records come per test)."""

from __future__ import annotations

import pytest

from services.demo import demo_basics


@pytest.fixture
async def world(db, settings):
    await demo_basics(db, settings)
