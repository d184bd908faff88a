"""Meter readings: the rules of DESIGN §3, preview («Рассчитать») and submit («Подтвердить»).

Submit stores the reading and forms its bill in one transaction under a lock
on the personal account, so readings on different dates cannot both bill the
same kWh, and the same reading sent twice is answered from what was stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import MeterReading, PersonalAccount
from models.base import ReadingSource
from services import billing
from services.errors import NotFound, OperationRefused, Problems
from services.pricing import NoTariffError, PricingResult, price_consumption, zone_consumption_with_rollover
from services.tariffs import tariffs_load

INPUT = ("input",)


@dataclass(frozen=True, slots=True)
class ZoneReading:
    zone: str
    value: int


@dataclass(frozen=True, slots=True)
class MeterFacts:
    id: int
    digits: int
    zones: list[str]


@dataclass(frozen=True, slots=True)
class StoredReading:
    id: int
    taken_on: dt.date
    zones: list[str]
    values: list[int]


@dataclass(frozen=True, slots=True)
class ReadingFacts:
    """What the rules look at for a reading of one personal account on one date."""

    meter: MeterFacts | None  # the current meter
    previous: StoredReading | None  # the current meter's last reading
    last_taken_on: dt.date | None  # the last reading of any meter
    same_day: StoredReading | None  # the reading already stored for that date
    same_day_bill_id: int | None


@dataclass(frozen=True, slots=True)
class ReadingEvaluation:
    """What a new reading would give: per-zone consumption and the priced lines."""

    meter: MeterFacts
    previous: StoredReading
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


# One statement for all of ReadingFacts: each part is an index lookup.
FACTS_SQL = text(
    """
SELECT m.id AS meter_id, m.digits, m.zones AS meter_zones,
       prev.id AS previous_id, prev.taken_on AS previous_taken_on,
       prev.zones AS previous_zones, prev."values" AS previous_values,
       last.taken_on AS last_taken_on,
       same.id AS same_id, same.zones AS same_zones, same."values" AS same_values, same.bill_id AS same_bill_id
FROM (SELECT CAST(:personal_account_id AS bigint) AS id, CAST(:taken_on AS date) AS taken_on) AS arg
LEFT JOIN LATERAL (
  SELECT id, digits, zones FROM meter
  WHERE personal_account_id = arg.id AND removed_on IS NULL
  ORDER BY installed_on DESC NULLS LAST, id DESC LIMIT 1
) AS m ON true
LEFT JOIN LATERAL (
  SELECT id, taken_on, zones, "values" FROM meter_reading
  WHERE personal_account_id = arg.id AND meter_id = m.id ORDER BY taken_on DESC LIMIT 1
) AS prev ON true
LEFT JOIN LATERAL (
  SELECT taken_on FROM meter_reading WHERE personal_account_id = arg.id ORDER BY taken_on DESC LIMIT 1
) AS last ON true
LEFT JOIN LATERAL (
  SELECT r.id, r.zones, r."values", b.id AS bill_id
  FROM meter_reading r LEFT JOIN bill b ON b.reading_id = r.id
  WHERE r.personal_account_id = arg.id AND r.taken_on = arg.taken_on
) AS same ON true
"""
)


async def reading_facts(*, session: AsyncSession, personal_account_id: int, taken_on: dt.date) -> ReadingFacts:
    r = (await session.execute(FACTS_SQL, {"personal_account_id": personal_account_id, "taken_on": taken_on})).one()
    return ReadingFacts(
        meter=MeterFacts(r.meter_id, r.digits, r.meter_zones) if r.meter_id is not None else None,
        previous=(
            StoredReading(r.previous_id, r.previous_taken_on, r.previous_zones, r.previous_values)
            if r.previous_id is not None
            else None
        ),
        last_taken_on=r.last_taken_on,
        same_day=StoredReading(r.same_id, taken_on, r.same_zones, r.same_values) if r.same_id is not None else None,
        same_day_bill_id=r.same_bill_id,
    )


async def reading_evaluate(
    *,
    session: AsyncSession,
    settings: Settings,
    personal_account_id: int,
    taken_on: dt.date,
    values: Sequence[ZoneReading],
    facts: ReadingFacts | None = None,
) -> ReadingEvaluation:
    """Check a reading against every rule and price it; changes nothing.

    `facts` when the caller has just read them (the submit, under its lock).
    """
    if facts is None:
        facts = await reading_facts(session=session, personal_account_id=personal_account_id, taken_on=taken_on)
    meter, previous = facts.meter, facts.previous
    if meter is None:
        raise OperationRefused("NO_METER")
    if previous is None:
        raise OperationRefused("NO_PREVIOUS_READING")
    if facts.same_day is not None:
        raise OperationRefused("READING_DATE_TAKEN")

    problems = Problems()
    today = settings.today()
    if taken_on > today:
        problems.add((*INPUT, "takenOn"), "READING_DATE_IN_FUTURE")
    elif facts.last_taken_on is not None and taken_on <= facts.last_taken_on:
        problems.add((*INPUT, "takenOn"), "READING_DATE_NOT_AFTER_LAST", last=facts.last_taken_on.strftime("%d.%m.%Y"))

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
    # Every submit for this personal account waits here, and only here: the facts read
    # next (a statement of their own, so a snapshot taken after the wait) see every
    # reading committed before. Submits for other personal accounts do not wait.
    personal_account_number = (
        await session.execute(
            select(PersonalAccount.number).where(PersonalAccount.id == personal_account_id).with_for_update()
        )
    ).scalar_one_or_none()
    if personal_account_number is None:  # an admin may name any id, an existing one or not
        raise NotFound(("input", "personalAccountId"))
    facts = await reading_facts(session=session, personal_account_id=personal_account_id, taken_on=taken_on)
    existing = facts.same_day
    if existing is not None:
        given = {v.zone: v.value for v in values}
        if len(given) == len(values) and given == dict(zip(existing.zones, existing.values, strict=True)):
            return SubmitOutcome(existing.id, facts.same_day_bill_id, personal_account_id, replayed=True)
        raise OperationRefused("READING_DATE_TAKEN")

    evaluation = await reading_evaluate(
        session=session,
        settings=settings,
        personal_account_id=personal_account_id,
        taken_on=taken_on,
        values=values,
        facts=facts,
    )
    reading_id = (
        await session.execute(
            insert(MeterReading)
            .values(
                personal_account_id=personal_account_id,
                meter_id=evaluation.meter.id,
                taken_on=taken_on,
                zones=evaluation.zones,
                values=evaluation.values,
                consumptions=evaluation.consumptions,
                consumption=evaluation.consumption,
                source=ReadingSource.CABINET,
            )
            .returning(MeterReading.id)
        )
    ).scalar_one()
    bill_id = await billing.consumption_bill_form(
        session=session,
        settings=settings,
        personal_account_id=personal_account_id,
        personal_account_number=personal_account_number,
        reading_id=reading_id,
        pricing=evaluation.pricing,
        account_id=account_id,
        language=language,
    )
    return SubmitOutcome(reading_id, bill_id, personal_account_id, replayed=False)


async def reading_row(*, session: AsyncSession, reading_id: int) -> Row | None:
    from services.personal_accounts import readings_get

    return (await readings_get(session=session, ids=[reading_id])).get(reading_id)
