"""The demo data: the manual's own RES, personal accounts, figures and logins.

Loaded once by `make run` (and by tests that want the manual's world).
Logins and the password are for the demo only.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from cabinet.config import Settings
from cabinet.db import Database
from cabinet.models import Account, Oblast, Res, Terms
from cabinet.models.base import AccountStatus, Role
from cabinet.services.accounts import account_create

DEMO_PASSWORD = "cabinet-demo-2014"

OBLASTS = [("14", "Донецька область"), ("80", "м. Київ")]
RES_ROWS = [
    # code, oblast, name, supplier, EDRPOU, IBAN, address
    (
        "0101",
        "14",
        "Горлівський РЕМ",
        "ПАТ «Донецькобленерго»",
        "00131268",
        "UA213223130000026007233566001",
        "84601, м. Горлівка, вул. Кутузова, 1",
    ),
    (
        "0102",
        "80",
        "Київ1",
        "ПАТ «Київенерго»",
        "00131305",
        "UA903052992990004149123456789",
        "01001, м. Київ, пл. Івана Франка, 5",
    ),
]
TERMS_VERSION = "2014-01"
TERMS_TEXT = (
    "Угода користувача персонального кабінету UENS. Користувач підтверджує, що є власником "
    "або уповноваженою особою особового рахунку, дає згоду на обробку персональних даних "
    "і зобов'язується не передавати свій пароль третім особам."
)
LOGINS = [
    # login, full name, email, phones, role
    ("lysenko", "Лысенко Александра Афанасьевна", "lysenko@demo.uens.example", ["+380501234567"], Role.CUSTOMER),
    ("zakharov", "Захаров Валерий Алексеевич", "zakharov@demo.uens.example", ["+380672345678"], Role.CUSTOMER),
    ("admin", "Адміністратор UENS", "admin@demo.uens.example", [], Role.ADMIN),
]


async def demo_reference(session: AsyncSession) -> None:
    await session.execute(
        insert(Oblast).values([{"code": c, "name": n} for c, n in OBLASTS]).on_conflict_do_nothing()
    )
    await session.execute(
        insert(Res)
        .values(
            [
                dict(code=c, oblast_code=o, name=n, supplier_name=s, edrpou=e, iban=i, address=a)
                for c, o, n, s, e, i, a in RES_ROWS
            ]
        )
        .on_conflict_do_nothing(index_elements=[Res.code])
    )
    await session.execute(
        insert(Terms)
        .values(version=TERMS_VERSION, text=TERMS_TEXT, in_force_from=dt.date(2014, 1, 1))
        .on_conflict_do_nothing()
    )


async def demo_logins(session: AsyncSession, settings: Settings) -> None:
    for login, full_name, email, phones, role in LOGINS:
        exists = (await session.execute(select(Account.id).where(Account.login == login))).first()
        if exists is None:
            await account_create(
                session=session,
                settings=settings,
                login=login,
                password=DEMO_PASSWORD,
                full_name=full_name,
                email=email,
                phones=phones,
                role=role,
                status=AccountStatus.ACTIVE,
            )


async def demo_load(db: Database, settings: Settings) -> None:
    """Idempotent: a second run changes nothing."""
    async with db.transaction() as session:
        await demo_reference(session)
        await demo_logins(session, settings)
