"""The manual's personal account 0101010 in April 2014, built row by row, and PDF helpers."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from urllib.parse import urlsplit

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import Bill, BillLine, InternetPayment, Meter, MeterReading, Payment, PersonalAccount, Res
from models.base import BillKind, ChargeCategory, InternetPaymentStatus, PaymentChannel, ReadingSource, RecordSource

D = Decimal
KYIV = dt.timezone(dt.timedelta(hours=3))
HOLDER = "Лысенко Александра Афанасьевна"
ADDRESS = "м/у Горловка, ул. Кутузова б.4"
SUPPLIER = "ПАТ «Донецькобленерго»"
EDRPOU = "00131268"
IBAN = "UA213223130000026007233566001"

# taken on, value (one zone); the first has no consumption.
READINGS = [
    ("2013-10-27", 43000),
    ("2013-12-27", 43900),
    ("2014-02-27", 44300),
    ("2014-03-27", 44731),
    ("2014-04-01", 45168),
    ("2014-04-02", 46000),
    ("2014-04-08", 47587),
    ("2014-04-09", 47600),
    ("2014-04-10", 47932),
    ("2014-04-27", 48200),
]
# number, category, kind, issued, period, reading date, amount, lines (description, block, kWh, price, amount)
BILLS = [
    (
        13942510,
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-04-04",
        ("2014-03-28", "2014-04-01"),
        "2014-04-01",
        "146.22",
        [("Електроенергія, блок 1", 1, 156, "0.2802", "43.71"), ("Електроенергія, блок 2", 2, 281, "0.3648", "102.51")],
    ),
    (
        13942515,
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-04-04",
        ("2014-04-02", "2014-04-02"),
        "2014-04-02",
        "414.96",
        [
            ("Електроенергія, блок 2", 2, 644, "0.3648", "234.93"),
            ("Електроенергія, блок 3", 3, 188, "0.9576", "180.03"),
        ],
    ),
    (
        13942517,
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-04-08",
        ("2014-04-03", "2014-04-08"),
        "2014-04-08",
        "1519.71",
        [("Електроенергія, блок 3", 3, 1587, "0.9576", "1519.71")],
    ),
    (
        13942524,
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-04-10",
        ("2014-04-09", "2014-04-09"),
        "2014-04-09",
        "12.45",
        [("Електроенергія, блок 3", 3, 13, "0.9576", "12.45")],
    ),
    (
        13942526,
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-04-14",
        ("2014-04-10", "2014-04-10"),
        "2014-04-10",
        "317.92",
        [("Електроенергія, блок 3", 3, 332, "0.9576", "317.92")],
    ),
    (
        13942529,
        "ELECTRICITY",
        "CORRECTION",
        "2014-04-15",
        None,
        None,
        "-50.00",
        [("Коригування нарахування за квітень 2014 року", None, None, None, "-50.00")],
    ),
    (
        13942531,
        "ELECTRICITY",
        "CONSUMPTION",
        "2014-04-30",
        ("2014-04-11", "2014-04-27"),
        "2014-04-27",
        "256.64",
        [("Електроенергія, блок 3 (понад 800 кВт·год за місяць)", 3, 268, "0.9576", "256.64")],
    ),
    # One bill in each other category, so every line of the debts block has a figure (Рисунок 5).
    (13942455, "ACTS", "ACT", "2014-03-13", None, None, "8149.11", []),
    (13942460, "SERVICES", "SERVICE", "2014-03-26", None, None, "589.16", []),
    (13942346, "ACTS_SCHEDULE", "INSTALLMENT", "2014-04-01", None, None, "8098.62", []),
    (13650014, "ELECTRICITY_SCHEDULE", "INSTALLMENT", "2014-04-15", None, None, "771.36", []),
]
# Electricity payments: the bank's of 04.04 and the four internet payments of 10.04 (Рисунок 6).
INTERNET_PAYMENTS = [
    (1706, "55.63", "12:41:05", "12:42:40", "48113574"),
    (1707, "20.00", "12:44:02", "12:45:11", "48113702"),
    (1708, "100.55", "12:48:31", "12:50:05", "48113951"),
    (1714, "10.00", "13:16:50", "13:18:42", "48115236"),
]


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def due_date(issued: dt.date) -> dt.date:
    year, month = (issued.year + 1, 1) if issued.month == 12 else (issued.year, issued.month + 1)
    return dt.date(year, month, 20)


async def manual_account_make(session: AsyncSession, *, login: str | None = "lysenko") -> dict:
    """0101010 with its April 2014 bills, payments and readings. Returns ids: {"pa", bill numbers, payment numbers}."""
    from tests.builders import link

    res_id = (await session.execute(select(Res.id).where(Res.code == "0101"))).scalar_one()
    pa = (
        await session.execute(
            insert(PersonalAccount)
            .values(res_id=res_id, number="0101010", holder_name=HOLDER, address=ADDRESS)
            .returning(PersonalAccount.id)
        )
    ).scalar_one()
    if login is not None:
        await link(session, login=login, personal_account_id=pa)
    meter = (
        await session.execute(
            insert(Meter)
            .values(
                personal_account_id=pa,
                serial_number="01010100",
                model="СО-505",
                digits=5,
                zones=["TOTAL"],
                installed_on=dt.date(2007, 4, 10),
            )
            .returning(Meter.id)
        )
    ).scalar_one()
    reading_ids: dict[str, int] = {}
    previous = None
    for taken_on, value in READINGS:
        used = None if previous is None else value - previous
        reading_ids[taken_on] = (
            await session.execute(
                insert(MeterReading)
                .values(
                    personal_account_id=pa,
                    meter_id=meter,
                    taken_on=_day(taken_on),
                    zones=["TOTAL"],
                    values=[value],
                    consumptions=None if used is None else [used],
                    consumption=used,
                    source=ReadingSource.IMPORT,
                )
                .returning(MeterReading.id)
            )
        ).scalar_one()
        previous = value
    ids: dict = {"pa": pa}
    for number, category, kind, issued, period, reading_on, amount, lines in BILLS:
        bill_id = (
            await session.execute(
                insert(Bill)
                .values(
                    personal_account_id=pa,
                    number=number,
                    category=ChargeCategory(category),
                    kind=BillKind(kind),
                    issued_on=_day(issued),
                    period_start=_day(period[0]) if period else None,
                    period_end=_day(period[1]) if period else None,
                    reading_id=reading_ids[reading_on] if reading_on else None,
                    due_on=due_date(_day(issued)),
                    amount=D(amount),
                    source=RecordSource.IMPORT,
                )
                .returning(Bill.id)
            )
        ).scalar_one()
        ids[number] = bill_id
        for position, (description, block, kwh, price, line_amount) in enumerate(lines, start=1):
            await session.execute(
                insert(BillLine).values(
                    bill_id=bill_id,
                    personal_account_id=pa,
                    position=position,
                    description=description,
                    block=block,
                    zone="TOTAL" if block else None,
                    quantity=D(kwh) if kwh else None,
                    unit="кВт·год" if kwh else None,
                    price=D(price) if price else None,
                    coefficient=D(1) if block else None,
                    amount=D(line_amount),
                )
            )
    await session.execute(
        insert(Payment).values(
            personal_account_id=pa,
            paid_on=dt.date(2014, 4, 4),
            amount=D("561.18"),
            category=ChargeCategory.ELECTRICITY,
            channel=PaymentChannel.BANK,
            external_id="BP-0101010-20140404-1",
        )
    )
    for number, amount, created, confirmed, bank_id in INTERNET_PAYMENTS:
        at = lambda t: dt.datetime.combine(dt.date(2014, 4, 10), dt.time.fromisoformat(t), KYIV)  # noqa: E731
        payment_id = (
            await session.execute(
                insert(InternetPayment)
                .values(
                    number=number,
                    personal_account_id=pa,
                    amount=D(amount),
                    category=ChargeCategory.ELECTRICITY,
                    status=InternetPaymentStatus.PROCESSED,
                    created_at=at(created),
                    expires_at=at(created) + dt.timedelta(minutes=15),
                    confirmed_at=at(confirmed),
                    bank_payment_id=bank_id,
                )
                .returning(InternetPayment.id)
            )
        ).scalar_one()
        ids[number] = payment_id
        await session.execute(
            insert(Payment).values(
                personal_account_id=pa,
                paid_on=dt.date(2014, 4, 10),
                amount=D(amount),
                category=ChargeCategory.ELECTRICITY,
                channel=PaymentChannel.INTERNET,
                internet_payment_id=payment_id,
            )
        )
    return ids


# ---- PDFs -----------------------------------------------------------------------------------


def pdf_pages(content: bytes) -> list[str]:
    """Each page's text, whitespace collapsed to single spaces."""
    from pypdf import PdfReader

    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def pdf_text(content: bytes) -> str:
    return " ".join(pdf_pages(content))


def pdf_images(content: bytes, *, scale: float = 2.0):
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(content)
    return [page.render(scale=scale).to_pil() for page in document]


def pdf_qr_codes(content: bytes) -> list[str]:
    import zxingcpp

    return [code.text for image in pdf_images(content) for code in zxingcpp.read_barcodes(image)]


def path_of(url: str) -> str:
    """The path and query of an absolute link, to fetch it from the ASGI app."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"
