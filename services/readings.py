"""Meter readings: the rules of DESIGN §3, preview («Рассчитать») and submit («Подтвердить»).

Submit stores the reading and forms its bill in one transaction under a lock
on the personal account, so readings on different dates cannot both bill the
same kWh, and the same reading sent twice is answered from what was stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Row, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import PersonalAccount
from models.base import ReadingSource
from services import billing
from services.account_records import LINE_JSON, ReadingRow, ledger_columns, ledger_of
from services.auth import Viewer
from services.errors import AuthError, NotFound, OperationRefused, Problems
from services.ledger import Ledger
from services.pricing import NoTariffError, PricingResult, price_consumption, zone_consumption_with_rollover
from services.tariffs import TARIFFS_KEY_SQL, tariffs_by_key, tariffs_load
from services.viewer_records import ACCOUNT_COLUMNS, PersonalAccountRow, viewer_of

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
    serial_number: str = ""


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
    tariffs_key: str | None = None  # services/tariffs.TARIFFS_KEY_SQL, read with the rest
    recipient: tuple[str, str] | None = None  # email and full name of the login that submits


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
class SubmitAnswer:
    """What a new reading's transaction stored and read, for the mutation's answer."""

    reading: ReadingRow
    lines: list[list]  # the bill's lines as stored (services/billing.FormedBill)
    ledger: Ledger  # the personal account's, read after the bill was added


@dataclass(frozen=True, slots=True)
class SubmitOutcome:
    reading_id: int
    bill_id: int | None
    personal_account_id: int
    replayed: bool
    answer: SubmitAnswer | None = None


@dataclass(frozen=True, slots=True)
class SubmitTarget:
    """The token check's outcome and, when the caller may submit for it, the locked personal account."""

    viewer: Viewer | None
    error: AuthError | None
    personal_account: PersonalAccountRow | None


# The submit's first statement: the token check (services/auth.viewer_from_access_token's
# rules, decided in Python from the row), whether the login may see the personal account
# (an admin any, a customer those its approved requests link) and, if so, its lock.
SUBMIT_TARGET_SQL = text(
    f"""
WITH viewer AS (
  SELECT t.expires_at, s.id AS session_id, s.revoked_at, {", ".join("a." + c for c in ACCOUNT_COLUMNS)}
  FROM auth_token t JOIN auth_session s ON s.id = t.session_id JOIN account a ON a.id = s.account_id
  WHERE t.token_hash = :token_digest AND t.kind = 'ACCESS'
), target AS (
  SELECT p.id AS pa_id, p.number, p.holder_name, p.address, p.res_id
  FROM personal_account p JOIN viewer v
    ON v.revoked_at IS NULL AND v.status = 'ACTIVE' AND v.expires_at > :now
  WHERE p.id = :personal_account_id
    AND (v.role = 'ADMIN' OR EXISTS (
      SELECT 1 FROM activation_request ar
      WHERE ar.account_id = v.id AND ar.personal_account_id = p.id AND ar.status = 'APPROVED'))
  FOR UPDATE OF p
)
SELECT v.*, target.*, (SELECT r.code FROM res r WHERE r.id = target.res_id) AS res_code
FROM viewer v LEFT JOIN target ON true
"""
)


async def submit_target(
    *, session: AsyncSession, token_digest: bytes, personal_account_id: int, now: dt.datetime
) -> SubmitTarget:
    """Check the token and lock the personal account it may submit for, in one statement."""
    row = (
        await session.execute(
            SUBMIT_TARGET_SQL, {"token_digest": token_digest, "personal_account_id": personal_account_id, "now": now}
        )
    ).one_or_none()
    if row is None:
        return SubmitTarget(None, AuthError("UNAUTHENTICATED"), None)
    viewer, error = viewer_of(row._mapping, now)
    if viewer is None or row.pa_id is None:
        return SubmitTarget(viewer, error, None)
    return SubmitTarget(
        viewer, None, PersonalAccountRow(row.pa_id, row.number, row.holder_name, row.address, row.res_id, row.res_code)
    )


def consumption_cap(settings: Settings, days: int) -> int:
    """The most a household can plausibly use: 10 kW around the clock, by default."""
    return settings.reading_cap_kw * 24 * days


# One statement for all of ReadingFacts: each part is an index lookup (the tariffs' digest
# reads their few dozen rows).
FACTS_SQL = text(
    f"""
SELECT m.id AS meter_id, m.digits, m.zones AS meter_zones, m.serial_number AS meter_serial_number,
       prev.id AS previous_id, prev.taken_on AS previous_taken_on,
       prev.zones AS previous_zones, prev."values" AS previous_values,
       last.taken_on AS last_taken_on,
       same.id AS same_id, same.zones AS same_zones, same."values" AS same_values, same.bill_id AS same_bill_id,
       {TARIFFS_KEY_SQL} AS tariffs_key,
       recipient.email AS recipient_email, recipient.full_name AS recipient_full_name
FROM (SELECT CAST(:personal_account_id AS bigint) AS id, CAST(:taken_on AS date) AS taken_on) AS arg
LEFT JOIN account AS recipient ON recipient.id = CAST(:account_id AS bigint)
LEFT JOIN LATERAL (
  SELECT id, digits, zones, serial_number FROM meter
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


async def reading_facts(
    *, session: AsyncSession, personal_account_id: int, taken_on: dt.date, account_id: int | None = None
) -> ReadingFacts:
    """`account_id`: the login whose address the bill's mail goes to (`recipient`)."""
    r = (
        await session.execute(
            FACTS_SQL, {"personal_account_id": personal_account_id, "taken_on": taken_on, "account_id": account_id}
        )
    ).one()
    return ReadingFacts(
        meter=(
            MeterFacts(r.meter_id, r.digits, r.meter_zones, r.meter_serial_number) if r.meter_id is not None else None
        ),
        previous=(
            StoredReading(r.previous_id, r.previous_taken_on, r.previous_zones, r.previous_values)
            if r.previous_id is not None
            else None
        ),
        last_taken_on=r.last_taken_on,
        same_day=StoredReading(r.same_id, taken_on, r.same_zones, r.same_values) if r.same_id is not None else None,
        same_day_bill_id=r.same_bill_id,
        tariffs_key=r.tariffs_key,
        recipient=(r.recipient_email, r.recipient_full_name) if r.recipient_email is not None else None,
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
            tariffs=(
                await tariffs_by_key(session=session, key=facts.tariffs_key)
                if facts.tariffs_key is not None
                else await tariffs_load(session=session)
            ),
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


# After the reading and its bill: the "bill formed" letter, and the ledger the answer shows
# (its snapshot has this transaction's bill). Without a login to write to, the ledger alone.
_LEDGER = f"SELECT {ledger_columns('CAST(:today AS date)')}\nFROM personal_account p WHERE p.id = :personal_account_id"
LEDGER_SQL = text(_LEDGER)
MAIL_AND_LEDGER_SQL = text(
    f"""
WITH mail AS (
  INSERT INTO outbox_message (account_id, kind, language, to_address, subject, body, status, attempts, next_attempt_at)
  VALUES (:account_id, :kind, :language, :to_address, :subject, :body, :status, :attempts, :next_attempt_at)
)
{_LEDGER}
"""
)


# A replay's answer, under the lock: the stored reading, its bill's lines and the ledger.
REPLAY_ANSWER_SQL = text(
    f"""
SELECT r.id, r.personal_account_id, r.meter_id, r.taken_on, r.zones, r."values", r.consumptions, r.consumption,
       r.source, m.serial_number,
  (SELECT {LINE_JSON} ORDER BY l.position)
     FROM bill_line l LEFT JOIN tariff t ON t.id = l.tariff_id WHERE l.bill_id = :bill_id) AS lines,
  {ledger_columns("CAST(:today AS date)")}
FROM meter_reading r JOIN meter m ON m.id = r.meter_id JOIN personal_account p ON p.id = r.personal_account_id
WHERE r.id = :reading_id
"""
)


async def _replay_answer(
    session: AsyncSession, settings: Settings, reading_id: int, bill_id: int | None
) -> SubmitAnswer | None:
    if bill_id is None:  # a reading stored without a bill (imported): answered as any
        return None
    r = (
        await session.execute(
            REPLAY_ANSWER_SQL, {"reading_id": reading_id, "bill_id": bill_id, "today": settings.today()}
        )
    ).one()
    stored = ReadingRow(
        r.id,
        r.personal_account_id,
        r.meter_id,
        r.taken_on,
        r.zones,
        r.values,
        r.consumptions,
        r.consumption,
        ReadingSource(r.source),
        r.serial_number,
    )
    return SubmitAnswer(stored, r.lines or [], ledger_of(r.bills, r.payments))


async def reading_submit(
    *,
    session: AsyncSession,
    settings: Settings,
    personal_account_id: int,
    taken_on: dt.date,
    values: Sequence[ZoneReading],
    account_id: int | None,
    language: str,
    personal_account_number: str | None = None,
) -> SubmitOutcome:
    """Store the reading and form its bill, exactly once.

    `personal_account_number` when the caller has locked the personal account already
    (`submit_target`); otherwise it is locked here.
    """
    # Every submit for this personal account waits at the lock, and only there: the facts read
    # next (a statement of their own, so a snapshot taken after the wait) see every reading
    # committed before. Submits for other personal accounts do not wait.
    if personal_account_number is None:
        personal_account_number = (
            await session.execute(
                select(PersonalAccount.number).where(PersonalAccount.id == personal_account_id).with_for_update()
            )
        ).scalar_one_or_none()
        if personal_account_number is None:  # an admin may name any id, an existing one or not
            raise NotFound(("input", "personalAccountId"))
    facts = await reading_facts(
        session=session, personal_account_id=personal_account_id, taken_on=taken_on, account_id=account_id
    )
    existing = facts.same_day
    if existing is not None:
        given = {v.zone: v.value for v in values}
        if len(given) == len(values) and given == dict(zip(existing.zones, existing.values, strict=True)):
            answer = await _replay_answer(session, settings, existing.id, facts.same_day_bill_id)
            return SubmitOutcome(existing.id, facts.same_day_bill_id, personal_account_id, True, answer)
        raise OperationRefused("READING_DATE_TAKEN")

    evaluation = await reading_evaluate(
        session=session,
        settings=settings,
        personal_account_id=personal_account_id,
        taken_on=taken_on,
        values=values,
        facts=facts,
    )
    reading = {
        "personal_account_id": personal_account_id,
        "meter_id": evaluation.meter.id,
        "taken_on": taken_on,
        "zones": evaluation.zones,
        "values": evaluation.values,
        "consumptions": evaluation.consumptions,
        "consumption": evaluation.consumption,
        "source": ReadingSource.CABINET.value,
    }
    formed = await billing.reading_bill_form(
        session=session, settings=settings, reading=reading, pricing=evaluation.pricing
    )
    ledger_params = {"personal_account_id": personal_account_id, "today": settings.today()}
    if account_id is not None and facts.recipient is not None:
        mail = billing.bill_formed_mail(
            settings=settings,
            account_id=account_id,
            to=facts.recipient[0],
            full_name=facts.recipient[1],
            personal_account_number=personal_account_number,
            bill_number=formed.number,
            amount=evaluation.pricing.amount,
            language=language,
        )
        row = (await session.execute(MAIL_AND_LEDGER_SQL, {**mail, **ledger_params})).one()
    else:
        row = (await session.execute(LEDGER_SQL, ledger_params)).one()
    stored = ReadingRow(
        formed.reading_id,
        personal_account_id,
        evaluation.meter.id,
        taken_on,
        evaluation.zones,
        evaluation.values,
        evaluation.consumptions,
        evaluation.consumption,
        ReadingSource.CABINET,
        evaluation.meter.serial_number,
    )
    answer = SubmitAnswer(stored, formed.lines, ledger_of(row.bills, row.payments))
    return SubmitOutcome(formed.reading_id, formed.bill_id, personal_account_id, replayed=False, answer=answer)


async def reading_row(*, session: AsyncSession, reading_id: int) -> Row | None:
    from services.personal_accounts import readings_get

    return (await readings_get(session=session, ids=[reading_id])).get(reading_id)
