"""Rows for tests, inserted directly (the import and the mutations have their own tests)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Account,
    ActivationRequest,
    Bill,
    BillLine,
    InternetPayment,
    Meter,
    MeterReading,
    Payment,
    PersonalAccount,
    Res,
)
from models.base import (
    ActivationMethod,
    ActivationStatus,
    BillKind,
    ChargeCategory,
    InternetPaymentStatus,
    PaymentChannel,
    ReadingSource,
    RecordSource,
)

KYIV_OFFSET = dt.timezone(dt.timedelta(hours=3))


async def personal_account_make(
    session: AsyncSession,
    *,
    number: str,
    res_code: str = "0101",
    holder: str = "Тестовий Т. Т.",
    login: str | None = None,
) -> int:
    res_id = (await session.execute(select(Res.id).where(Res.code == res_code))).scalar_one()
    pa_id = (
        await session.execute(
            insert(PersonalAccount)
            .values(res_id=res_id, number=number, holder_name=holder, address="м. Тест, вул. Тестова, 1")
            .returning(PersonalAccount.id)
        )
    ).scalar_one()
    if login is not None:
        await link(session, login=login, personal_account_id=pa_id)
    return pa_id


async def link(session: AsyncSession, *, login: str, personal_account_id: int) -> None:
    account = (await session.execute(select(Account).where(Account.login == login))).scalar_one()
    pa = await session.get(PersonalAccount, personal_account_id)
    await session.execute(
        insert(ActivationRequest).values(
            account_id=account.id,
            res_id=pa.res_id,
            personal_account_number=pa.number,
            personal_account_id=pa.id,
            status=ActivationStatus.APPROVED,
            method=ActivationMethod.ADMIN_REVIEW,
            decided_at=dt.datetime.now(dt.UTC),
        )
    )


async def history_make(session: AsyncSession, *, personal_account_id: int, bills: int, start_number: int) -> None:
    """`bills` monthly consumption bills (each with a reading and two lines), a payment and an
    internet payment per month, ending before 2014-05-26."""
    meter_id = (
        await session.execute(
            insert(Meter)
            .values(
                personal_account_id=personal_account_id,
                serial_number=f"M{personal_account_id}",
                digits=5,
                zones=["TOTAL"],
            )
            .returning(Meter.id)
        )
    ).scalar_one()
    first_day = dt.date(2014, 5, 1)
    for i in range(bills):
        month_start = _months_before(first_day, bills - i)
        taken_on = month_start.replace(day=20)
        reading_id = (
            await session.execute(
                insert(MeterReading)
                .values(
                    personal_account_id=personal_account_id,
                    meter_id=meter_id,
                    taken_on=taken_on,
                    zones=["TOTAL"],
                    values=[1000 + i * 200],
                    consumptions=[200],
                    consumption=200,
                    source=ReadingSource.IMPORT,
                )
                .returning(MeterReading.id)
            )
        ).scalar_one()
        bill_id = (
            await session.execute(
                insert(Bill)
                .values(
                    personal_account_id=personal_account_id,
                    number=start_number + i,
                    category=ChargeCategory.ELECTRICITY,
                    kind=BillKind.CONSUMPTION,
                    issued_on=taken_on,
                    period_start=taken_on - dt.timedelta(days=30),
                    period_end=taken_on,
                    reading_id=reading_id,
                    due_on=taken_on + dt.timedelta(days=30),
                    amount=Decimal("60.27"),
                    source=RecordSource.IMPORT,
                )
                .returning(Bill.id)
            )
        ).scalar_one()
        await session.execute(
            insert(BillLine),
            [
                dict(
                    bill_id=bill_id,
                    personal_account_id=personal_account_id,
                    position=1,
                    description="Блок 1",
                    block=1,
                    quantity=Decimal(150),
                    unit="кВт·год",
                    price=Decimal("0.2802"),
                    coefficient=Decimal(1),
                    amount=Decimal("42.03"),
                ),
                dict(
                    bill_id=bill_id,
                    personal_account_id=personal_account_id,
                    position=2,
                    description="Блок 2",
                    block=2,
                    quantity=Decimal(50),
                    unit="кВт·год",
                    price=Decimal("0.3648"),
                    coefficient=Decimal(1),
                    amount=Decimal("18.24"),
                ),
            ],
        )
        internet_id = (
            await session.execute(
                insert(InternetPayment)
                .values(
                    personal_account_id=personal_account_id,
                    amount=Decimal("30.00"),
                    category=ChargeCategory.ELECTRICITY,
                    status=InternetPaymentStatus.PROCESSED,
                    created_at=dt.datetime.combine(taken_on, dt.time(12), KYIV_OFFSET),
                    expires_at=dt.datetime.combine(taken_on, dt.time(12, 15), KYIV_OFFSET),
                    confirmed_at=dt.datetime.combine(taken_on, dt.time(12, 1), KYIV_OFFSET),
                )
                .returning(InternetPayment.id)
            )
        ).scalar_one()
        await session.execute(
            insert(Payment).values(
                personal_account_id=personal_account_id,
                paid_on=taken_on,
                amount=Decimal("30.00"),
                category=ChargeCategory.ELECTRICITY,
                channel=PaymentChannel.INTERNET,
                internet_payment_id=internet_id,
            )
        )


async def debt_pay_off(session: AsyncSession, *, personal_account_id: int, paid_on: dt.date) -> None:
    """A bank payment of the whole ELECTRICITY debt (history_make leaves half of it unpaid)."""
    billed = (
        await session.execute(
            select(func.coalesce(func.sum(Bill.amount), 0)).where(Bill.personal_account_id == personal_account_id)
        )
    ).scalar_one()
    paid = (
        await session.execute(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.personal_account_id == personal_account_id)
        )
    ).scalar_one()
    await session.execute(
        insert(Payment).values(
            personal_account_id=personal_account_id,
            paid_on=paid_on,
            amount=billed - paid,
            category=ChargeCategory.ELECTRICITY,
            channel=PaymentChannel.BANK,
        )
    )


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


async def tariffs_make(session: AsyncSession) -> None:
    """DESIGN §3's tariff history."""
    from models import Tariff, TariffBlock
    from services.pricing import DEMO_TARIFF_HISTORY

    for version in DEMO_TARIFF_HISTORY:
        tariff_id = (
            await session.execute(
                insert(Tariff)
                .values(
                    valid_from=version.valid_from, mode=version.mode.value, name=version.name or str(version.valid_from)
                )
                .returning(Tariff.id)
            )
        ).scalar_one()
        await session.execute(
            insert(TariffBlock),
            [
                dict(tariff_id=tariff_id, block=i, upper_bound=b.upper_bound, price=b.price)
                for i, b in enumerate(version.blocks, start=1)
            ],
        )


async def metered_account_make(
    session: AsyncSession,
    *,
    number: str,
    login: str | None,
    zones: list[str],
    last_values: list[int] | None,
    last_taken_on: dt.date,
    digits: int = 5,
    serial: str | None = None,
) -> int:
    """A personal account with a meter and (when last_values is given) its last reading."""
    pa = await personal_account_make(session, number=number, login=login)
    meter_id = (
        await session.execute(
            insert(Meter)
            .values(personal_account_id=pa, serial_number=serial or f"S{number}", digits=digits, zones=zones)
            .returning(Meter.id)
        )
    ).scalar_one()
    if last_values is not None:
        await session.execute(
            insert(MeterReading).values(
                personal_account_id=pa,
                meter_id=meter_id,
                taken_on=last_taken_on,
                zones=zones,
                values=last_values,
                source=ReadingSource.IMPORT,
            )
        )
    return pa
