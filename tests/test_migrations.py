"""Migrations that move data: the bill-number counter row becomes a sequence and back."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from db import migrate
from tests.conftest import _asyncpg_dsn, _with_database

NEXT_BILL_NUMBER = "SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM bill_number_seq"
BILL = """INSERT INTO bill (personal_account_id, number, category, kind, issued_on, amount, source)
          VALUES (1, $1, 'SERVICES', 'SERVICE', '2014-01-01', 1, 'IMPORT')"""


@pytest.fixture
async def at_0001(server_url):
    """A database migrated to 0001 only, with one personal account to hang bills on."""
    name = f"cabinet_m_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = _with_database(server_url, name)
        await asyncio.to_thread(migrate, url, "0001")
        conn = await asyncpg.connect(_asyncpg_dsn(url))
        try:
            await conn.execute(
                """INSERT INTO oblast (code, name) VALUES ('14', 'Донецька область');
                   INSERT INTO res (id, code, oblast_code, name, supplier_name, edrpou, iban, address)
                   VALUES (1, '0101', '14', 'РЕМ', 'ПАТ', '00131268', 'UA213223130000026007233566001', 'вул. 1');
                   INSERT INTO personal_account (id, res_id, number, holder_name, address)
                   VALUES (1, 1, '0101010', 'Лисенко А. А.', 'вул. 1')"""
            )
            yield url, conn
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.mark.parametrize(("highest_bill", "counter", "next_number"), [(500, 700, 701), (900, 700, 901), (None, 0, 1)])
async def test_the_sequence_starts_past_the_stored_numbers_and_the_counter(at_0001, highest_bill, counter, next_number):
    url, conn = at_0001
    if highest_bill is not None:
        await conn.execute(BILL, highest_bill)
    await conn.execute("UPDATE bill_number_counter SET last_number = $1", counter)
    await asyncio.to_thread(migrate, url, "head")
    assert await conn.fetchval("SELECT to_regclass('bill_number_counter')") is None
    assert await conn.fetchval(NEXT_BILL_NUMBER) == next_number
    # A bill inserted without a number takes the sequence's next.
    number = await conn.fetchval(
        """INSERT INTO bill (personal_account_id, category, kind, issued_on, amount, source)
           VALUES (1, 'SERVICES', 'SERVICE', '2014-01-02', 1, 'CABINET') RETURNING number"""
    )
    assert number == next_number


async def test_going_back_the_counter_continues_after_every_number_handed_out(at_0001):
    url, conn = at_0001
    await conn.execute(BILL, 40)
    await asyncio.to_thread(migrate, url, "head")
    await conn.execute("SELECT setval('bill_number_seq', 60)")  # 41..60 handed out, rolled back
    await asyncio.to_thread(_downgrade, url, "0001")
    assert await conn.fetchval("SELECT last_number FROM bill_number_counter WHERE id = 1") == 60
    assert await conn.fetchval("SELECT to_regclass('bill_number_seq')") is None


def _downgrade(url: str, revision: str) -> None:
    from alembic import command

    from db import alembic_config

    command.downgrade(alembic_config(url), revision)
