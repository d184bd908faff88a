"""Fixtures for the accounts tests: a small world of RES, personal accounts and logins.

The personal accounts are built here row by row, so each evidence rule has
data that exercises it (a removed meter, payments after the latest bill,
several payments on one day, another category's payment).
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert

from models import Oblast, Res, Terms
from models.base import AccountStatus, Role
from services.accounts import account_create
from tests.accounts.account_helpers import ADMIN_PASSWORD, NUMBER, TERMS, personal_account_with_evidence


@pytest.fixture
async def world(db, settings):
    """RES 0101/0102 and the terms, an admin, and personal accounts 5550001 (0101) and 5550002 (0102)."""
    async with db.transaction() as s:
        await s.execute(
            insert(Oblast).values([{"code": "14", "name": "Донецька область"}, {"code": "80", "name": "м. Київ"}])
        )
        await s.execute(
            insert(Res),
            [
                dict(
                    code="0101",
                    oblast_code="14",
                    name="Горлівський РЕМ",
                    supplier_name="ПАТ «Донецькобленерго»",
                    edrpou="00131268",
                    iban="UA213223130000026007233566001",
                    address="м. Горлівка",
                ),
                dict(
                    code="0102",
                    oblast_code="80",
                    name="Київ1",
                    supplier_name="ПАТ «Київенерго»",
                    edrpou="00131305",
                    iban="UA903052992990004149123456789",
                    address="м. Київ",
                ),
            ],
        )
        await s.execute(
            insert(Terms),
            [
                dict(version="2013-01", text="Угода (стара)", in_force_from=dt.date(2013, 1, 1)),
                dict(version=TERMS, text="Угода користувача", in_force_from=dt.date(2014, 1, 1)),
                # Not in force yet on the business date (2014-05-26).
                dict(version="2015-01", text="Угода (майбутня)", in_force_from=dt.date(2015, 1, 1)),
            ],
        )
        await account_create(
            session=s,
            settings=settings,
            login="admin",
            password=ADMIN_PASSWORD,
            full_name="Адміністратор",
            email="admin@uens.test",
            phones=[],
            role=Role.ADMIN,
            status=AccountStatus.ACTIVE,
        )
        first = await personal_account_with_evidence(s, number=NUMBER)
        second = await personal_account_with_evidence(s, number="5550002", res_code="0102")
    return {"pa": first, "pa2": second}
