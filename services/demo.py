"""The demo data: the manual's own RES, personal accounts, figures and logins.

The records live in data/demo/*.csv and are loaded through the import, as a
utility would load its own.

Loaded once by `make run` (and by tests that want the manual's world).
Logins and the password are for the demo only.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from db import Database
from models import Account, Terms
from models.base import AccountStatus, Role
from services.accounts import account_create
from services.importing import DEMO_DIR, demo_import, import_csv

DEMO_PASSWORD = "cabinet-demo-2014"

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


async def demo_terms(session: AsyncSession) -> None:
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


async def demo_basics(db: Database, settings: Settings) -> None:
    """The RES, the user agreement and the demo logins: what most tests build on."""
    async with db.transaction() as session:
        with (DEMO_DIR / "res.csv").open(encoding="utf-8", newline="") as stream:
            await import_csv(session=session, kind="res", stream=stream)
        await demo_terms(session)
        await demo_logins(session, settings)


async def demo_load(db: Database, settings: Settings) -> None:
    """Everything: the basics, then the manual's records through the import. Idempotent."""
    await demo_basics(db, settings)
    async with db.transaction() as session:
        await demo_import(session)
