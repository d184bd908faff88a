"""Helpers for the import tests: a session in a transaction, CSV text, table counts."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.importing import ImportReport, import_csv

TABLES = (
    "oblast",
    "res",
    "personal_account",
    "meter",
    "tariff",
    "tariff_block",
    "meter_reading",
    "bill",
    "bill_line",
    "violation_act",
    "repayment_schedule",
    "instalment",
    "payment",
    "internet_payment",
    "activation_request",
)


@pytest.fixture
async def session(db) -> AsyncIterator[AsyncSession]:
    """One transaction, committed at the end of the test (the database is dropped anyway)."""
    async with db.sessions() as s, s.begin():
        yield s


def csv_text(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


async def run(session: AsyncSession, kind: str, content: str) -> ImportReport:
    return await import_csv(session=session, kind=kind, stream=io.StringIO(content))


async def counts(session: AsyncSession) -> dict[str, int]:
    sql = " UNION ALL ".join(f"SELECT '{t}' AS tbl, count(*) AS n FROM {t}" for t in TABLES)
    return {r.tbl: r.n for r in (await session.execute(text(sql))).all()}


async def scalar(session: AsyncSession, sql: str, **params):
    return (await session.execute(text(sql), params)).scalar_one()


RES = csv_text(
    ["code", "name", "oblast_code", "oblast_name", "supplier_name", "edrpou", "iban", "address"],
    [
        [
            "0101",
            "Горлівський РЕМ",
            "14",
            "Донецька область",
            "ПАТ «Донецькобленерго»",
            "00131268",
            "UA213223130000026007233566001",
            "84601, м. Горлівка, вул. Кутузова, 1",
        ],
        [
            "0102",
            "Київ1",
            "80",
            "м. Київ",
            "ПАТ «Київенерго»",
            "00131305",
            "UA903052992990004149123456789",
            "01001, м. Київ, пл. Івана Франка, 5",
        ],
    ],
)
ACCOUNTS = csv_text(
    ["res_code", "number", "holder_name", "address"],
    [
        ["0101", "1000001", "Іваненко Іван", "вул. Перша, 1"],
        ["0101", "1000002", "Петренко Петро", "вул. Друга, 2"],
        ["0102", "2000001", "Сидоренко Сидір", "вул. Третя, 3"],
    ],
)
METERS = csv_text(
    [
        "serial_number",
        "res_code",
        "account_number",
        "model",
        "digits",
        "zones",
        "installed_on",
        "verified_on",
        "next_verification_on",
        "removed_on",
    ],
    [
        ["M1", "0101", "1000001", "СО-505", "5", "TOTAL", "2010-01-01", "2010-01-01", "2018-01-01", ""],
        ["M2", "0101", "1000002", "НІК 2303", "6", "DAY|NIGHT", "2010-01-01", "", "", ""],
        ["M3", "0102", "2000001", "", "5", "PEAK|SEMI_PEAK|NIGHT", "", "", "", ""],
    ],
)
TARIFF = csv_text(
    ["valid_from", "mode", "name", "block", "upper_bound", "price"],
    [
        ["2012-07-01", "INCREMENTAL", "з 01.07.2012", "1", "150", "0.2802"],
        ["2012-07-01", "INCREMENTAL", "з 01.07.2012", "2", "800", "0.3648"],
        ["2012-07-01", "INCREMENTAL", "з 01.07.2012", "3", "", "0.9576"],
    ],
)


class Importer:
    """The test's session with the helpers the import tests use (fixture ``imp``)."""

    csv = staticmethod(csv_text)
    RES, ACCOUNTS, METERS, TARIFF = RES, ACCOUNTS, METERS, TARIFF

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def run(self, kind: str, content: str) -> ImportReport:
        return await run(self.session, kind, content)

    async def counts(self) -> dict[str, int]:
        return await counts(self.session)

    async def scalar(self, sql: str, **params):
        return await scalar(self.session, sql, **params)

    async def rows(self, sql: str, **params):
        return (await self.session.execute(text(sql), params)).all()

    async def reference(self) -> None:
        """RES, three personal accounts with meters, and the 2012 tariff."""
        for kind, content in (("res", RES), ("personal-accounts", ACCOUNTS), ("meters", METERS), ("tariffs", TARIFF)):
            await self.run(kind, content)


@pytest.fixture
def imp(session: AsyncSession) -> Importer:
    return Importer(session)
