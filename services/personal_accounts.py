"""Reading personal accounts and what hangs on them, a set of accounts per statement.

Every function takes many ids at once so the DataLoaders can batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    ActivationRequest,
    BillLine,
    Instalment,
    InternetPayment,
    Meter,
    MeterReading,
    PersonalAccount,
    RepaymentSchedule,
    Res,
    Tariff,
    ViolationAct,
)
from models.base import ActivationStatus

_Grouped = TypeVar("_Grouped")  # a row or a model, grouped by one of its attributes


def _group(rows: Sequence[_Grouped], key: str) -> dict[int, list[_Grouped]]:
    grouped: dict[int, list[_Grouped]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, key)].append(row)
    return grouped


# What the read side shows of a personal account (its RES by code).
PERSONAL_ACCOUNT_COLUMNS = (
    PersonalAccount.id,
    PersonalAccount.number,
    PersonalAccount.holder_name,
    PersonalAccount.address,
    PersonalAccount.res_id,
    Res.code.label("res_code"),
)


async def linked_personal_accounts(*, session: AsyncSession, account_ids: Sequence[int]) -> dict[int, list[Row]]:
    """The personal accounts linked to each login (by its approved requests), in link order."""
    rows = (
        await session.execute(
            select(ActivationRequest.account_id.label("linked_to"), *PERSONAL_ACCOUNT_COLUMNS)
            .join(PersonalAccount, PersonalAccount.id == ActivationRequest.personal_account_id)
            .join(Res, Res.id == PersonalAccount.res_id)
            .where(
                ActivationRequest.account_id.in_(list(account_ids)),
                ActivationRequest.status == ActivationStatus.APPROVED,
            )
            .order_by(ActivationRequest.decided_at, ActivationRequest.id)
        )
    ).all()
    linked: dict[int, list[Row]] = {a: [] for a in account_ids}
    for row in rows:
        if all(r.id != row.id for r in linked[row.linked_to]):
            linked[row.linked_to].append(row)
    return linked


async def personal_accounts_get(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, Row]:
    rows = (
        await session.execute(
            select(*PERSONAL_ACCOUNT_COLUMNS)
            .join(Res, Res.id == PersonalAccount.res_id)
            .where(PersonalAccount.id.in_(list(ids)))
        )
    ).all()
    return {r.id: r for r in rows}


async def res_get(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, Res]:
    rows = (await session.execute(select(Res).where(Res.id.in_(list(ids))))).scalars().all()
    return {r.id: r for r in rows}


READING_COLUMNS = (
    MeterReading.id,
    MeterReading.personal_account_id,
    MeterReading.meter_id,
    MeterReading.taken_on,
    MeterReading.zones,
    MeterReading.values,
    MeterReading.consumptions,
    MeterReading.consumption,
    MeterReading.source,
    Meter.serial_number.label("meter_serial_number"),
)


async def readings_get(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, Row]:
    rows = (
        await session.execute(
            select(*READING_COLUMNS)
            .join(Meter, Meter.id == MeterReading.meter_id)
            .where(MeterReading.id.in_(list(ids)))
        )
    ).all()
    return {r.id: r for r in rows}


async def bill_lines_of(*, session: AsyncSession, bill_ids: Sequence[int]) -> dict[int, list[Row]]:
    rows = (
        await session.execute(
            select(
                BillLine.bill_id,
                BillLine.position,
                BillLine.description,
                BillLine.block,
                BillLine.zone,
                BillLine.quantity,
                BillLine.unit,
                BillLine.price,
                BillLine.coefficient,
                BillLine.amount,
                Tariff.valid_from.label("tariff_valid_from"),
            )
            .outerjoin(Tariff, Tariff.id == BillLine.tariff_id)
            .where(BillLine.bill_id.in_(list(bill_ids)))
            .order_by(BillLine.bill_id, BillLine.position)
        )
    ).all()
    return _group(rows, "bill_id")


INTERNET_PAYMENT_COLUMNS = (
    InternetPayment.id,
    InternetPayment.personal_account_id,
    InternetPayment.number,
    InternetPayment.amount,
    InternetPayment.category,
    InternetPayment.bill_id,
    InternetPayment.status,
    InternetPayment.created_at,
    InternetPayment.expires_at,
    InternetPayment.confirmed_at,
)


async def internet_payments_get(*, session: AsyncSession, ids: Sequence[int]) -> dict[int, Row]:
    rows = (await session.execute(select(*INTERNET_PAYMENT_COLUMNS).where(InternetPayment.id.in_(list(ids))))).all()
    return {r.id: r for r in rows}


async def schedules_of(
    *, session: AsyncSession, personal_account_ids: Sequence[int]
) -> dict[int, list[tuple[RepaymentSchedule, list[Instalment]]]]:
    ids = list(personal_account_ids)
    schedules = (
        (
            await session.execute(
                select(RepaymentSchedule)
                .where(RepaymentSchedule.personal_account_id.in_(ids))
                .order_by(RepaymentSchedule.agreed_on.desc(), RepaymentSchedule.id.desc())
            )
        )
        .scalars()
        .all()
    )
    instalments = (
        (
            await session.execute(
                select(Instalment).where(Instalment.personal_account_id.in_(ids)).order_by(Instalment.due_on)
            )
        )
        .scalars()
        .all()
    )
    by_schedule: dict[int, list[Instalment]] = defaultdict(list)
    for instalment in instalments:
        by_schedule[instalment.schedule_id].append(instalment)
    result: dict[int, list] = defaultdict(list)
    for schedule in schedules:
        result[schedule.personal_account_id].append((schedule, by_schedule[schedule.id]))
    return result


async def acts_of(*, session: AsyncSession, personal_account_ids: Sequence[int]) -> dict[int, list[ViolationAct]]:
    rows = (
        (
            await session.execute(
                select(ViolationAct)
                .where(ViolationAct.personal_account_id.in_(list(personal_account_ids)))
                .order_by(ViolationAct.drawn_up_on.desc(), ViolationAct.id.desc())
            )
        )
        .scalars()
        .all()
    )
    return _group(rows, "personal_account_id")


async def owner_of(*, session: AsyncSession, table, ids: Sequence[int]) -> dict[int, int]:
    """The personal account each row (bill, payment, reading, …) belongs to."""
    rows = (await session.execute(select(table.id, table.personal_account_id).where(table.id.in_(list(ids))))).all()
    return {r.id: r.personal_account_id for r in rows}
