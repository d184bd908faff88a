"""Bill and receipt PDFs: their data from the database, rendering, storing, signed links.

A receipt of a processed payment never changes, so it is rendered on first
request, stored in `document` under "receipt:<id>" with the SHA-256 of its
bytes as ETag, and served from there ever after. A bill is the bill as issued
plus a payment slip as of the day it is downloaded (what is still due then),
so its render is stored under "bill:<id>:<day>:<amount due>" and reused only
while that day and amount are the same; a new one replaces it. (A bill of
zero or less has no slip: "bill:<id>", rendered once.) Links are short-lived
and signed (HMAC-SHA256 over kind, id and expiry with `document_link_secret`),
so they work without headers: in a browser tab, a download manager, a mail.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import math
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Row, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import (
    Bill,
    BillLine,
    Document,
    InternetPayment,
    Meter,
    MeterReading,
    Payment,
    PersonalAccount,
    Res,
)
from models.base import CATEGORY_ORDER, BillKind, InternetPaymentStatus
from pdf import (
    BillDocument,
    CategoryDebt,
    MonthKwh,
    PaymentSlip,
    Readings,
    ReceiptDocument,
    Supplier,
    ZoneReading,
    bill_pdf,
    receipt_pdf,
)
from pdf import BillLine as BillLineData
from pdf import Meter as MeterData
from pdf.labels import purpose as purpose_text
from services.ledger import BILL_COLUMNS, PAYMENT_COLUMNS, consumption_by_month, ledger_build, ledgers_load
from services.periods import Period
from services.tariffs import tariff_starts_load

BILL = "bill"
RECEIPT = "receipt"
KINDS = (BILL, RECEIPT)
# A receipt is proof of a processed payment: a reversed one has none (see README, Documents).
RECEIPT_STATUSES = (InternetPaymentStatus.PROCESSED,)
MAX_ID = 2**63 - 1


def document_key(kind: str, pk: int, slip: PaymentSlip | None = None) -> str:
    """Where a render is stored: its subject and, for a bill's slip, the day and the amount due
    it shows (so a render is reused only while both are the same)."""
    subject = f"{kind}:{pk}"
    return subject if slip is None else f"{subject}:{slip.as_of.isoformat()}:{slip.amount_due:.2f}"


def _subject_of(key: str) -> str:
    return ":".join(key.split(":", 2)[:2])


# ---- signed links ---------------------------------------------------------------------------


def link_signature(settings: Settings, kind: str, pk: int, expires: int) -> str:
    """HMAC-SHA256 of a link to one thing until `expires`; `kind` keeps links of different
    purposes (a bill, a receipt, a payment's return page) from standing in for each other."""
    message = f"{kind}\n{pk}\n{expires}".encode()
    secret = settings.document_link_secret.get_secret_value().encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def link_signed_expiry(settings: Settings, kind: str, pk: int, expires: str | None, sig: str | None) -> int | None:
    """The expiry a link's signature genuinely vouches for, or None (malformed or forged)."""
    if not expires or not sig or len(expires) > 12 or not expires.isascii() or not expires.isdigit() or len(sig) != 64:
        return None
    good = link_signature(settings, kind, pk, int(expires))
    return int(expires) if hmac.compare_digest(good, sig.lower()) else None


def link_expiry(settings: Settings, now: dt.datetime) -> int:
    """Unix time the link stops working: the TTL from now, rounded up to the minute, so
    the links handed out within a minute are the same URL (and a browser's cache holds)."""
    return math.ceil((now + settings.document_link_ttl).timestamp() / 60) * 60


def document_path(settings: Settings, kind: str, pk: int, expires: int) -> str:
    return f"/documents/{kind}/{pk}?expires={expires}&sig={link_signature(settings, kind, pk, expires)}"


def document_link(*, settings: Settings, kind: str, pk: int, now: dt.datetime) -> str:
    """An absolute link from the configured public URL (never from a request's Host)."""
    return settings.public_url.rstrip("/") + document_path(settings, kind, pk, link_expiry(settings, now))


def document_link_valid(
    *, settings: Settings, kind: str, pk: int, expires: str | None, sig: str | None, now: dt.datetime
) -> bool:
    """The signature is ours for this very document and expiry, and the expiry is ahead, but
    no further than a link we would sign now (link_expiry): a link
    signed for a year, by a leaked secret or an old setting, is not taken."""
    signed = link_signed_expiry(settings, kind, pk, expires, sig)
    return signed is not None and now.timestamp() < signed <= link_expiry(settings, now)


# ---- stored documents ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredDocument:
    key: str
    etag: str
    content: bytes
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class DocumentHead:
    """What serving a document needs to know first: whether its subject exists and may have
    a document, its number for the file name, the key its render has today, and the stored
    PDF under that key if there is one."""

    number: int
    available: bool
    key: str
    stored: StoredDocument | None


def _stored(row: Row) -> StoredDocument | None:
    if row.key is None:
        return None
    return StoredDocument(key=row.key, etag=row.etag, content=row.content, created_at=row.created_at)


async def document_head(*, session: AsyncSession, kind: str, pk: int, today: dt.date) -> DocumentHead | None:
    """The subject and its stored render, if one fits today. None: no such subject.

    A receipt is one statement; a bill also reads its personal account's ledger, for the
    slip (run it in one snapshot)."""
    if kind == BILL:
        return await _bill_head(session, pk, today)
    key = document_key(kind, pk)
    row = (
        await session.execute(
            select(
                InternetPayment.number,
                InternetPayment.status,
                Document.key,
                Document.etag,
                Document.content,
                Document.created_at,
            )
            .outerjoin(Document, Document.key == key)
            .where(InternetPayment.id == pk)
        )
    ).first()
    if row is None:
        return None
    return DocumentHead(number=row.number, available=row.status in RECEIPT_STATUSES, key=key, stored=_stored(row))


async def _bill_head(session: AsyncSession, pk: int, today: dt.date) -> DocumentHead | None:
    bill = (
        await session.execute(
            select(Bill.id, Bill.number, Bill.issued_on, Bill.amount, Bill.personal_account_id).where(Bill.id == pk)
        )
    ).first()
    if bill is None:
        return None
    if bill.issued_on > today:
        return DocumentHead(number=bill.number, available=False, key=document_key(BILL, pk), stored=None)
    slip = await bill_slip(
        session=session, bill_id=bill.id, personal_account_id=bill.personal_account_id, amount=bill.amount, today=today
    )
    key = document_key(BILL, pk, slip)
    return DocumentHead(
        number=bill.number, available=True, key=key, stored=await document_find(session=session, key=key)
    )


async def document_find(*, session: AsyncSession, key: str) -> StoredDocument | None:
    row = (
        await session.execute(
            select(Document.key, Document.etag, Document.content, Document.created_at).where(Document.key == key)
        )
    ).first()
    return _stored(row) if row is not None else None


def content_etag(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


async def document_store(
    *, session: AsyncSession, key: str, personal_account_id: int, content: bytes
) -> StoredDocument:
    """Keep the first PDF stored under the key: concurrent first requests store one, and
    every one of them gets that one back. It replaces the subject's renders under other keys
    (a bill's slip of another day or amount): one stored render per document. Stores of one
    document take turns (a transaction lock on its subject), so each sees the other's row."""
    subject = _subject_of(key)
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(subject, 0))))
    await session.execute(
        insert(Document)
        .values(key=key, personal_account_id=personal_account_id, etag=content_etag(content), content=content)
        .on_conflict_do_nothing(index_elements=[Document.key])
    )
    await session.execute(
        delete(Document).where(
            Document.personal_account_id == personal_account_id,
            or_(Document.key == subject, Document.key.like(f"{subject}:%")),
            Document.key != key,
        )
    )
    stored = await document_find(session=session, key=key)
    assert stored is not None
    return stored


async def document_render(data: BillDocument | ReceiptDocument) -> bytes:
    """Render off the event loop (xhtml2pdf and matplotlib are blocking and CPU-bound)."""
    if isinstance(data, BillDocument):
        return await asyncio.to_thread(bill_pdf, data)
    return await asyncio.to_thread(receipt_pdf, data)


# ---- what the documents show -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GatheredDocument:
    """A document's data, ready to render, and where its render is stored."""

    key: str
    personal_account_id: int
    data: BillDocument | ReceiptDocument


async def document_gather(*, session: AsyncSession, kind: str, pk: int, today: dt.date) -> GatheredDocument | None:
    """Everything a render needs, from one snapshot; None when there is no document to give."""
    found: tuple[int, BillDocument | ReceiptDocument] | None
    if kind == BILL:
        found = await bill_document_data(session=session, bill_id=pk, today=today)
    else:
        found = await receipt_document_data(session=session, internet_payment_id=pk)
    if found is None:
        return None
    personal_account_id, data = found
    key = document_key(kind, pk, data.slip if isinstance(data, BillDocument) else None)
    return GatheredDocument(key=key, personal_account_id=personal_account_id, data=data)


async def bill_slip(
    *, session: AsyncSession, bill_id: int, personal_account_id: int, amount: Decimal, today: dt.date
) -> PaymentSlip | None:
    """What is still due on the bill today, by the allocation the screens show (amountDue);
    None for a bill of zero or less, which asks for nothing."""
    if amount <= 0:
        return None
    ledgers = await ledgers_load(session=session, personal_account_ids=[personal_account_id], today=today)
    return PaymentSlip(as_of=today, amount_due=ledgers[personal_account_id].allocation.due[bill_id])


async def _owner(session: AsyncSession, personal_account_id: int) -> tuple[Row, Supplier]:
    row = (
        await session.execute(
            select(
                PersonalAccount.number,
                PersonalAccount.holder_name,
                PersonalAccount.address,
                Res.name.label("res_name"),
                Res.supplier_name,
                Res.edrpou,
                Res.iban,
                Res.address.label("res_address"),
            )
            .join(Res, Res.id == PersonalAccount.res_id)
            .where(PersonalAccount.id == personal_account_id)
        )
    ).one()
    supplier = Supplier(
        name=row.supplier_name, edrpou=row.edrpou, iban=row.iban, address=row.res_address, res_name=row.res_name
    )
    return row, supplier


async def debts_as_of(*, session: AsyncSession, personal_account_id: int, day: dt.date) -> tuple[CategoryDebt, ...]:
    """Each category's debt as the day ended: its bills issued up to the day minus its payments
    made up to the day (a reversal counts from the day it happened), by the one allocation."""
    bills = (
        await session.execute(
            select(*BILL_COLUMNS).where(Bill.personal_account_id == personal_account_id, Bill.issued_on <= day)
        )
    ).all()
    payments = (
        await session.execute(
            select(*PAYMENT_COLUMNS).where(Payment.personal_account_id == personal_account_id, Payment.paid_on <= day)
        )
    ).all()
    debt = ledger_build(bills, payments).allocation.debt
    return tuple(CategoryDebt(category=c.value, amount=debt[c]) for c in CATEGORY_ORDER)


def _months_back(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


async def consumption_history(*, session: AsyncSession, personal_account_id: int, day: dt.date) -> tuple[MonthKwh, ...]:
    """kWh by month, the twelve months up to the day (gaps are 0): each reading split over the
    months of the days it covers as its bill lines split it, the rule of the API's
    monthlyConsumption (services.ledger.consumption_by_month)."""
    start = _months_back(day, 11)
    readings = (
        await session.execute(
            select(MeterReading.id, MeterReading.meter_id, MeterReading.taken_on, MeterReading.consumption)
            .where(MeterReading.personal_account_id == personal_account_id, MeterReading.taken_on <= day)
            .order_by(MeterReading.taken_on)
        )
    ).all()
    bills = (
        await session.execute(
            select(*BILL_COLUMNS).where(
                Bill.personal_account_id == personal_account_id, Bill.reading_id.is_not(None), Bill.issued_on <= day
            )
        )
    ).all()
    starts = await tariff_starts_load(session=session)
    months = consumption_by_month(readings, ledger_build(bills, []), period=Period(start, day), tariff_starts=starts)
    by_month = {m.month: m.kwh for m in months}
    return tuple(MonthKwh(month, by_month.get(month, 0)) for month in (_months_back(day, 11 - i) for i in range(12)))


async def _meter_and_readings(session: AsyncSession, bill: Bill) -> tuple[MeterData | None, Readings | None]:
    reading = await session.get(MeterReading, bill.reading_id) if bill.reading_id is not None else None
    if reading is not None:
        meter = await session.get(Meter, reading.meter_id)
    else:
        meter = (
            await session.execute(
                select(Meter)
                .where(
                    Meter.personal_account_id == bill.personal_account_id,
                    (Meter.installed_on.is_(None)) | (Meter.installed_on <= bill.issued_on),
                    (Meter.removed_on.is_(None)) | (Meter.removed_on > bill.issued_on),
                )
                .order_by(Meter.installed_on.desc().nulls_last(), Meter.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
    meter_data = (
        MeterData(serial_number=meter.serial_number, digits=meter.digits, zones=tuple(meter.zones), model=meter.model)
        if meter is not None
        else None
    )
    if reading is None:
        return meter_data, None
    previous = (
        await session.execute(
            select(MeterReading)
            .where(MeterReading.meter_id == reading.meter_id, MeterReading.taken_on < reading.taken_on)
            .order_by(MeterReading.taken_on.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    before = dict(zip(previous.zones, previous.values, strict=True)) if previous is not None else {}
    used: list[int | None] = list(reading.consumptions) if reading.consumptions else [None] * len(reading.zones)
    zones = tuple(
        ZoneReading(zone=zone, previous=before.get(zone), current=value, consumption=used[i])
        for i, (zone, value) in enumerate(zip(reading.zones, reading.values, strict=True))
    )
    readings = Readings(
        previous_on=previous.taken_on if previous is not None else None,
        current_on=reading.taken_on,
        zones=zones,
        consumption=reading.consumption,
    )
    return meter_data, readings


async def bill_document_data(*, session: AsyncSession, bill_id: int, today: dt.date) -> tuple[int, BillDocument] | None:
    """The bill's document data and its personal account; None for no such (issued) bill."""
    bill = await session.get(Bill, bill_id)
    if bill is None or bill.issued_on > today:
        return None
    owner, supplier = await _owner(session, bill.personal_account_id)
    lines = (
        (await session.execute(select(BillLine).where(BillLine.bill_id == bill.id).order_by(BillLine.position)))
        .scalars()
        .all()
    )
    consumption_bill = bill.kind == BillKind.CONSUMPTION
    meter, readings = await _meter_and_readings(session, bill) if consumption_bill else (None, None)
    kwh = None
    if consumption_bill and readings is None:
        quantities = [
            line.quantity for line in lines if line.quantity is not None and (line.unit or "").startswith("кВт")
        ]
        kwh = int(sum(quantities, Decimal(0))) if quantities else None
    document = BillDocument(
        supplier=supplier,
        personal_account_number=owner.number,
        holder_name=owner.holder_name,
        address=owner.address,
        number=bill.number,
        category=bill.category.value,
        kind=bill.kind.value,
        issued_on=bill.issued_on,
        period_start=bill.period_start,
        period_end=bill.period_end,
        due_on=bill.due_on,
        amount=bill.amount,
        lines=tuple(
            BillLineData(
                description=line.description,
                block=line.block,
                zone=line.zone.value if line.zone is not None else None,
                quantity=line.quantity,
                unit=line.unit,
                price=line.price,
                coefficient=line.coefficient,
                amount=line.amount,
            )
            for line in lines
        ),
        debts=await debts_as_of(session=session, personal_account_id=bill.personal_account_id, day=bill.issued_on),
        purpose=purpose_text(bill.category.value, owner.number, bill.number),
        slip=await bill_slip(
            session=session,
            bill_id=bill.id,
            personal_account_id=bill.personal_account_id,
            amount=bill.amount,
            today=today,
        ),
        meter=meter,
        readings=readings,
        consumption=kwh,
        consumption_history=(
            await consumption_history(session=session, personal_account_id=bill.personal_account_id, day=bill.issued_on)
            if consumption_bill
            else ()
        ),
    )
    return bill.personal_account_id, document


async def receipt_document_data(
    *, session: AsyncSession, internet_payment_id: int
) -> tuple[int, ReceiptDocument] | None:
    """A processed card payment's receipt data; None when there is none to give."""
    payment = await session.get(InternetPayment, internet_payment_id)
    if payment is None or payment.status not in RECEIPT_STATUSES:
        return None
    owner, supplier = await _owner(session, payment.personal_account_id)
    bill_number = None
    if payment.bill_id is not None:
        bill_number = (await session.execute(select(Bill.number).where(Bill.id == payment.bill_id))).scalar_one()
    document = ReceiptDocument(
        supplier=supplier,
        personal_account_number=owner.number,
        holder_name=owner.holder_name,
        address=owner.address,
        payment_number=payment.number,
        amount=payment.amount,
        category=payment.category.value,
        status=payment.status.value,
        created_at=payment.created_at,
        confirmed_at=payment.confirmed_at,
        bank_payment_id=payment.bank_payment_id,
        purpose=purpose_text(payment.category.value, owner.number, bill_number),
        bill_number=bill_number,
    )
    return payment.personal_account_id, document
