"""Fixtures for the document tests: the manual's 0101010, and links to its PDFs."""

from __future__ import annotations

import datetime as dt

import pytest

from services.demo import demo_basics
from services.documents import document_link
from tests.documents.document_helpers import manual_account_make, path_of


@pytest.fixture
async def manual(db, settings) -> dict:
    await demo_basics(db, settings)
    async with db.transaction() as s:
        return await manual_account_make(s)


@pytest.fixture
def link(settings):
    """link(kind, pk) -> the path of a fresh signed link; `now=` makes one from another moment."""

    def make(kind: str, pk: int, *, now: dt.datetime | None = None) -> str:
        return path_of(document_link(settings=settings, kind=kind, pk=pk, now=now or dt.datetime.now(dt.UTC)))

    return make
