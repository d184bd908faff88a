"""Meter readings: the rules of DESIGN §3, preview («Рассчитать») and submit («Подтвердить»).

Submit stores the reading and forms its bill in one transaction under a lock
on the personal account, so readings on different dates cannot both bill the
same kWh, and the same reading sent twice is answered from what was stored.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import Bill, Meter, MeterReading, PersonalAccount
from models.base import ReadingSource
from services import billing
from services.errors import OperationRefused, Problems
from services.pricing import NoTariffError, PricingResult, price_consumption, zone_consumption_with_rollover
from services.tariffs import tariffs_load

INPUT = ("input",)


@dataclass(frozen=True, slots=True)
class ZoneReading:
    zone: str
    value: int


@dataclass(frozen=True, slots=True)
class ReadingEvaluation:
    """What a new reading would give: per-zone consumption and the priced lines."""

    meter: Meter
    previous: MeterReading
    taken_on: dt.date
    zones: list[str]
    values: list[int]
    consumptions: list[int]
    pricing: PricingResult

    @property
    def consumption(self) -> int:
        return sum(self.consumptions)


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    reading_id: int
    bill_id: int | None
    personal_account_id: int
    replayed: bool


def consumption_cap(settings: Settings, days: int) -> int:
    """The most a household can plausibly use: 10 kW around the clock, by default."""
    return settings.reading_cap_kw * 24 * days


async def _current_meter(session: AsyncSession, personal_account_id: int) -> Meter | None:
    return (
        await session.execute(
            select(Meter)
            .where(Meter.personal_account_id == personal_account_id, Meter.removed_on.is_(None))
            .order_by(Meter.installed_on.desc().nulls_last(), Meter.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def _last_reading(session: AsyncSession, personal_account_id: int, meter_id: int | None = None) -> MeterReading | None:
    query = select(MeterReading).where(MeterReading.personal_account_id == personal_account_id)
    if meter_id is not None:
        query = query.where(MeterReading.meter_id == meter_id)
    return (await session.execute(query.order_by(MeterReading.taken_on.desc()).limit(1))).scalar_one_or_none()


async def _reading_on(session: AsyncSession, personal_account_id: int, day: dt.date) -> MeterReading | None:
    return (
        await session.execute(
            select(MeterReading).where(
                MeterReading.personal_account_id == personal_account_id, MeterReading.taken_on == day
            )
        )
    ).scalar_one_or_none()


async def reading_evaluate(
    *,
    session: AsyncSession,
    settings: Settings,
    personal_account_id: int,
    taken_on: dt.date,
    values: Sequence[ZoneReading],
) -> ReadingEvaluation:
    """Check a reading against every rule and price it; changes nothing."""
    meter = await _current_meter(session, personal_account_id)
    if meter is None:
        raise OperationRefused("NO_METER")
    previous = await _last_reading(session, personal_account_id, meter.id)
    if previous is None:
        raise OperationRefused("NO_PREVIOUS_READING")
    existing = await _reading_on(session, personal_account_id, taken_on)
    if existing is not None:
        raise OperationRefused("READING_DATE_TAKEN")

    problems = Problems()
    last = await _last_reading(session, personal_account_id)
    today = settings.today()
    if taken_on > today:
        problems.add((*INPUT, "takenOn"), "READING_DATE_IN_FUTURE")
    elif last is not None and taken_on <= last.taken_on:
        problems.add((*INPUT, "takenOn"), "READING_DATE_NOT_AFTER_LAST", last=last.taken_on.strftime("%d.%m.%Y"))

    given = [v.zone for v in values]
    if sorted(given) != sorted(meter.zones) or len(set(given)) != len(given):
        problems.add((*INPUT, "values"), "READING_ZONES_MISMATCH", zones=", ".join(meter.zones))
        problems.raise_if_any()

    by_zone = {v.zone: (i, v.value) for i, v in enumerate(values)}
    limit = 10**meter.digits
    days = max((taken_on - previous.taken_on).days, 1)
    cap = consumption_cap(settings, days)
    previous_values = dict(zip(previous.zones, previous.values, strict=True))
    consumptions: list[int] = []
    for zone in meter.zones:
        index, value = by_zone[zone]
        path = (*INPUT, "values", str(index), "value")
        if not 0 <= value < limit:
            problems.add(path, "READING_OUT_OF_RANGE", max=limit - 1)
            continue
        before = previous_values.get(zone, 0)
        used = zone_consumption_with_rollover(before, value, meter.digits)
        if value < before and used > cap:
            problems.add(path, "READING_LESS_THAN_PREVIOUS", previous=before)
            continue
        consumptions.append(used)
    if len(consumptions) == len(meter.zones) and sum(consumptions) > cap:
        problems.add((*INPUT, "values"), "READING_IMPLAUSIBLE", consumption=sum(consumptions))
    problems.raise_if_any()

    try:
        pricing = price_consumption(
            previous_date=previous.taken_on,
            current_date=taken_on,
            zone_consumption=dict(zip(meter.zones, consumptions, strict=True)),
            tariffs=await tariffs_load(session=session),
        )
    except NoTariffError as e:
        raise OperationRefused("NO_TARIFF", day=e.day.strftime("%d.%m.%Y")) from e
    return ReadingEvaluation(
        meter=meter,
        previous=previous,
        taken_on=taken_on,
        zones=list(meter.zones),
        values=[by_zone[z][1] for z in meter.zones],
        consumptions=consumptions,
        pricing=pricing,
    )


async def reading_submit(
    *,
    session: AsyncSession,
    settings: Settings,
    personal_account_id: int,
    taken_on: dt.date,
    values: Sequence[ZoneReading],
    account_id: int | None,
    language: str,
) -> SubmitOutcome:
    """Store the reading and form its bill, exactly once."""
    # Every submit for this personal account waits here, so the checks below
    # see every reading committed before it.
    await session.execute(
        select(PersonalAccount.id).where(PersonalAccount.id == personal_account_id).with_for_update()
    )
    existing = await _reading_on(session, personal_account_id, taken_on)
    if existing is not None:
        given = {v.zone: v.value for v in values}
        if len(given) == len(values) and given == dict(zip(existing.zones, existing.values, strict=True)):
            bill_id = (
                await session.execute(select(Bill.id).where(Bill.reading_id == existing.id))
            ).scalar_one_or_none()
            return SubmitOutcome(existing.id, bill_id, personal_account_id, replayed=True)
        raise OperationRefused("READING_DATE_TAKEN")

    evaluation = await reading_evaluate(
        session=session,
        settings=settings,
        personal_account_id=personal_account_id,
        taken_on=taken_on,
        values=values,
    )
    reading = MeterReading(
        personal_account_id=personal_account_id,
        meter_id=evaluation.meter.id,
        taken_on=taken_on,
        zones=evaluation.zones,
        values=evaluation.values,
        consumptions=evaluation.consumptions,
        consumption=evaluation.consumption,
        source=ReadingSource.CABINET,
    )
    session.add(reading)
    await session.flush()
    bill = await billing.consumption_bill_form(
        session=session,
        settings=settings,
        personal_account_id=personal_account_id,
        reading_id=reading.id,
        pricing=evaluation.pricing,
        account_id=account_id,
        language=language,
    )
    return SubmitOutcome(reading.id, bill.id, personal_account_id, replayed=False)


async def reading_row(*, session: AsyncSession, reading_id: int) -> Row | None:
    from services.personal_accounts import readings_get

    return (await readings_get(session=session, ids=[reading_id])).get(reading_id)
