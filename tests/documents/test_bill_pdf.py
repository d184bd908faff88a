"""What a bill PDF says: the manual's bills field by field, debts as of the issue date,
the payment QR code read back from the page, and a two-zone bill formed through the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import insert

from models import Bill
from models.base import BillKind, ChargeCategory, RecordSource
from pdf.qr import URL_PREFIX, nbu_payment_decode
from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD, demo_basics, demo_load
from services.documents import consumption_history, debts_as_of
from tests.builders import metered_account_make, tariffs_make
from tests.documents.document_helpers import (
    ADDRESS,
    EDRPOU,
    HOLDER,
    IBAN,
    SUPPLIER,
    path_of,
    pdf_pages,
    pdf_qr_codes,
    pdf_text,
)

DEBTS_30_04 = [
    ("по електроенергії", "1870.54"),
    ("по ГПЗ електроенергії", "771.36"),
    ("по актах", "8149.11"),
    ("по ГПЗ (акти)", "8098.62"),
    ("за послуги", "589.16"),
]


async def _pdf(http, path) -> bytes:
    response = await http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return response.content


async def test_the_manuals_bill_13942531_shows_every_field_on_one_page(manual, http, link):
    content = await _pdf(http, link("bill", manual[13942531]))
    pages = pdf_pages(content)
    assert len(pages) == 1
    text = pages[0]
    expected = [
        # supplier and RES, with their bank details
        SUPPLIER,
        "Горлівський РЕМ",
        f"Код ЄДРПОУ: {EDRPOU}",
        f"IBAN: {IBAN}",
        "84601, м. Горлівка, вул. Кутузова, 1",
        # the bill
        "РАХУНОК № 13942531",
        "Дата формування: 30.04.2014",
        "Розрахунковий період: з 11.04.2014 по 27.04.2014",
        "Сплатити до: 20.05.2014",
        # the consumer and the meter
        "Особовий рахунок: 0101010",
        f"Споживач: {HOLDER}",
        f"Адреса: {ADDRESS}",
        "Лічильник: № 01010100, СО-505; розрядність: 5; зони: загальна",
        # readings: the bill's and the one before it on the meter, with their dates
        "Попередні показання (10.04.2014)",
        "Поточні показання (27.04.2014)",
        "загальна 47932 48200 268",
        "Спожито всього, кВт·год 268",
        # the priced line and the total
        "Електроенергія, блок 3 (понад 800 кВт·год за місяць) 3 загальна 268 0.9576 1.0 256.64",
        "Разом за рахунком, грн 256.64",
        # debts as of the issue date
        "Заборгованість станом на 30.04.2014, грн",
        *(f"{label} {amount}" for label, amount in DEBTS_30_04),
        # payment purpose and amount
        "Призначення платежу: Оплата за електроенергію, о/р 0101010, рахунок № 13942531",
        "До сплати станом на 26.05.2014: 256.64 грн",
        # the tear-off slip repeats the payment details
        "лінія відрізу",
        "Платіжна квитанція до рахунку № 13942531",
        f"Отримувач {SUPPLIER}",
        f"Код ЄДРПОУ {EDRPOU}",
        f"IBAN {IBAN}",
        "Особовий рахунок 0101010",
        f"Платник {HOLDER}, {ADDRESS}",
        "Призначення Оплата за електроенергію, о/р 0101010, рахунок № 13942531",
        "Сума до сплати станом на 26.05.2014, грн: 256.64",
        "Споживання за 12 місяців",
    ]
    missing = [item for item in expected if item not in text]
    assert not missing, (missing, text)


async def test_the_qr_code_on_the_page_carries_the_payment_details(manual, http, link):
    content = await _pdf(http, link("bill", manual[13942531]))
    codes = pdf_qr_codes(content)
    assert len(codes) == 1 and codes[0].startswith(URL_PREFIX)
    lines = nbu_payment_decode(codes[0])
    assert lines[:5] == ["BCD", "002", "1", "UCT", ""]
    assert lines[5] == SUPPLIER
    assert lines[6] == IBAN
    assert lines[7] == "UAH256.64"
    assert lines[8] == EDRPOU
    assert lines[11] == "Оплата за електроенергію, о/р 0101010, рахунок № 13942531"


async def test_debts_are_those_of_the_issue_date(manual, http, link, db):
    """13942524 of 10.04: bills to 10.04 (2093.34) less payments to 10.04 (747.36); the ГПЗ
    instalment of 15.04 is not debt yet. Today's debts are different."""
    text = pdf_text(await _pdf(http, link("bill", manual[13942524])))
    assert "Заборгованість станом на 10.04.2014, грн" in text
    for label, amount in [
        ("по електроенергії", "1345.98"),
        ("по ГПЗ електроенергії", "0.00"),
        ("по актах", "8149.11"),
        ("по ГПЗ (акти)", "8098.62"),
        ("за послуги", "589.16"),
    ]:
        assert f"{label} {amount}" in text
    async with db.sessions() as s:
        debts = await debts_as_of(session=s, personal_account_id=manual["pa"], day=dt.date(2014, 4, 9))
    # On 09.04 neither 13942524 nor the internet payments of 10.04 existed yet.
    assert debts[0].amount == Decimal("146.22") + Decimal("414.96") + Decimal("1519.71") - Decimal("561.18")


async def test_a_reversal_counts_from_its_own_day(manual, db):
    from models import Payment
    from models.base import PaymentChannel

    async with db.transaction() as s:
        original = (
            await s.execute(
                insert(Payment)
                .values(
                    personal_account_id=manual["pa"],
                    paid_on=dt.date(2014, 4, 20),
                    amount=Decimal("100.00"),
                    category=ChargeCategory.ELECTRICITY,
                    channel=PaymentChannel.BANK,
                )
                .returning(Payment.id)
            )
        ).scalar_one()
        await s.execute(
            insert(Payment).values(
                personal_account_id=manual["pa"],
                paid_on=dt.date(2014, 5, 5),
                amount=Decimal("-100.00"),
                category=ChargeCategory.ELECTRICITY,
                channel=PaymentChannel.BANK,
                reverses_payment_id=original,
            )
        )
    async with db.sessions() as s:
        on_30_04 = (await debts_as_of(session=s, personal_account_id=manual["pa"], day=dt.date(2014, 4, 30)))[0].amount
        on_05_05 = (await debts_as_of(session=s, personal_account_id=manual["pa"], day=dt.date(2014, 5, 5)))[0].amount
    assert (on_30_04, on_05_05) == (Decimal("1770.54"), Decimal("1870.54"))


async def test_the_chart_is_the_twelve_months_up_to_the_issue_date_split_as_the_api_splits(manual, db, gql, settings):
    async with db.sessions() as s:
        months = await consumption_history(session=s, personal_account_id=manual["pa"], day=dt.date(2014, 4, 30))
    assert [m.month for m in months] == [dt.date(2013 + (4 + i) // 12, (4 + i) % 12 + 1, 1) for i in range(12)]
    # One rule for the bill's chart and the API's monthlyConsumption: each reading split over
    # the months of the days it covers, as its bill lines split it.
    from services.demo import DEMO_PASSWORD

    await gql.sign_in("lysenko", DEMO_PASSWORD)
    answer = await gql(
        """query($id: ID!) { node(id: $id) { ... on PersonalAccount {
             monthlyConsumption(from: "2013-05-01", to: "2014-04-30") { month kwh } } } }""",
        {"id": global_id("PersonalAccount", manual["pa"])},
    )
    api = {dt.date.fromisoformat(m["month"]): m["kwh"] for m in answer["data"]["node"]["monthlyConsumption"]}
    assert {m.month: m.kwh for m in months if m.kwh} == {month: kwh for month, kwh in api.items() if kwh}
    assert sum(m.kwh for m in months) > 0
    async with db.sessions() as s:
        earlier = await consumption_history(session=s, personal_account_id=manual["pa"], day=dt.date(2014, 4, 8))
    # Readings after the issue date are not on the bill.
    assert sum(m.kwh for m in earlier) < sum(m.kwh for m in months)


async def test_a_correction_has_no_readings_no_slip_and_no_qr(manual, http, link):
    content = await _pdf(http, link("bill", manual[13942529]))
    text = pdf_text(content)
    assert "Розрахунковий період: коригування" in text
    assert "Коригування нарахування за квітень 2014 року -50.00" in text
    assert "Разом за рахунком, грн -50.00" in text
    assert "по електроенергії 1613.90" in text  # as of 15.04, the correction counted
    assert "сплачувати за ним не потрібно" in text
    for absent in ("Показання лічильника", "Лічильник:", "Споживання за 12 місяців", "лінія відрізу", "Сплатити до"):
        assert absent not in text
    assert pdf_qr_codes(content) == []
    assert len(pdf_pages(content)) == 1


async def test_an_act_bill_has_the_same_layout_without_readings(manual, http, link):
    content = await _pdf(http, link("bill", manual[13942455]))
    text = pdf_text(content)
    assert "РАХУНОК № 13942455" in text and "За актом про порушення" in text
    assert "Призначення платежу: Оплата за актом про порушення, о/р 0101010, рахунок № 13942455" in text
    assert "по актах 8149.11" in text and "по електроенергії 0.00" in text  # as of 13.03.2014
    assert "Показання лічильника" not in text and "Споживання за 12 місяців" not in text
    assert nbu_payment_decode(pdf_qr_codes(content)[0])[7] == "UAH8149.11"


async def test_a_bill_not_issued_yet_has_no_document(manual, http, link, db):
    async with db.transaction() as s:
        future = (
            await s.execute(
                insert(Bill)
                .values(
                    personal_account_id=manual["pa"],
                    number=13950000,
                    category=ChargeCategory.ELECTRICITY_SCHEDULE,
                    kind=BillKind.INSTALLMENT,
                    issued_on=dt.date(2014, 6, 15),
                    amount=Decimal("128.56"),
                    source=RecordSource.IMPORT,
                )
                .returning(Bill.id)
            )
        ).scalar_one()
    assert (await http.get(link("bill", future))).status_code == 404


SUBMIT = """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) {
  __typename ... on MeterReadingSubmitSuccess { bill { number amount pdfUrl } }
  ... on Error { code } } }"""


async def test_a_two_zone_bill_submitted_through_the_api(db, settings, gql, http):
    """DESIGN's golden two-zone example; its pdfUrl works with no headers at all."""
    await demo_basics(db, settings)
    settings.business_date = dt.date(2017, 4, 30)
    async with db.transaction() as s:
        await tariffs_make(s)
        pa = await metered_account_make(
            s,
            number="7000006",
            login="lysenko",
            zones=["DAY", "NIGHT"],
            last_values=[1000, 2000],
            last_taken_on=dt.date(2017, 3, 31),
            serial="NIK-2303",
        )
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    variables = {
        "input": {
            "personalAccountId": global_id("PersonalAccount", pa),
            "takenOn": "2017-04-30",
            "values": [{"zone": "DAY", "value": 1100}, {"zone": "NIGHT", "value": 2250}],
        }
    }
    result = (await gql(SUBMIT, variables))["data"]["meterReadingSubmit"]
    assert result["__typename"] == "MeterReadingSubmitSuccess", result
    bill = result["bill"]
    assert bill["pdfUrl"].startswith("https://cabinet.test/documents/bill/")

    response = await http.get(path_of(bill["pdfUrl"]))  # no Authorization, no cookies
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pages = pdf_pages(response.content)
    assert len(pages) == 1
    text = pages[0]
    for item in [
        f"РАХУНОК № {bill['number']}",
        "Дата формування: 30.04.2017",
        "Розрахунковий період: з 01.04.2017 по 30.04.2017",
        "Сплатити до: 20.05.2017",
        "Лічильник: № NIK-2303; розрядність: 5; зони: день, ніч",
        "Попередні показання (31.03.2017)",
        "Поточні показання (30.04.2017)",
        "день 1000 1100 100",
        "ніч 2000 2250 250",
        "Спожито всього, кВт·год 350",
        "1 день 29 0.9000 1.0 26.10",
        "1 ніч 71 0.9000 0.5 31.95",
        "2 день 71 1.6800 1.0 119.28",
        "2 ніч 179 1.6800 0.5 150.36",
        "Разом за рахунком, грн 327.69",
        "Сума до сплати станом на 30.04.2017, грн: 327.69",
        "по електроенергії 327.69",
    ]:
        assert item in text, (item, text)
    lines = nbu_payment_decode(pdf_qr_codes(response.content)[0])
    assert (lines[6], lines[7], lines[8]) == (IBAN, "UAH327.69", EDRPOU)
    assert lines[11] == f"Оплата за електроенергію, о/р 7000006, рахунок № {bill['number']}"


async def test_the_demo_datas_bill_13942531(db, settings, http, link):
    """The manual's own records as `make run` loads them: the bill of Рисунок 6, debts as
    of its issue date equal to the plain sums of bills and payments up to that day."""
    from sqlalchemy import text

    await demo_load(db, settings)
    async with db.sessions() as s:
        bill_id, pa = (await s.execute(text("SELECT id, personal_account_id FROM bill WHERE number = 13942531"))).one()
        sums = dict(
            (
                await s.execute(
                    text(
                        """SELECT c.category,
                      coalesce((SELECT sum(amount) FROM bill WHERE personal_account_id = :pa AND category = c.category
                                AND issued_on <= :day), 0)
                    - coalesce((SELECT sum(amount) FROM payment WHERE personal_account_id = :pa AND category = c.category
                                AND paid_on <= :day), 0)
               FROM unnest(CAST(:categories AS text[])) AS c(category)"""
                    ),
                    {"pa": pa, "day": dt.date(2014, 4, 30), "categories": [c.value for c in ChargeCategory]},
                )
            ).all()
        )
    content = await _pdf(http, link("bill", bill_id))
    assert len(pdf_pages(content)) == 1
    text_ = pdf_text(content)
    for item in [
        "РАХУНОК № 13942531",
        "Розрахунковий період: з 11.04.2014 по 27.04.2014",
        "Особовий рахунок: 0101010",
        "Лічильник: № 01010100",
        "загальна 47932 48200 268",
        "Разом за рахунком, грн 256.64",
        "по електроенергії 1870.54",
    ]:
        assert item in text_, (item, text_)
    labels = ["по електроенергії", "по ГПЗ електроенергії", "по актах", "по ГПЗ (акти)", "за послуги"]
    for label, category in zip(labels, [c.value for c in ChargeCategory], strict=True):
        assert f"{label} {sums[category]:.2f}" in text_, (label, sums)
    assert nbu_payment_decode(pdf_qr_codes(content)[0])[7] == "UAH256.64"


async def test_a_service_bill_counts_services_not_kwh(db, settings, http, link):
    """The demo's 13942528: one «послуга» at 196.64, not «1 кВт·год × 196.64 грн/кВт·год»."""
    from sqlalchemy import text

    await demo_load(db, settings)
    async with db.sessions() as s:
        bill_id = (await s.execute(text("SELECT id FROM bill WHERE number = 13942528"))).scalar_one()
    page = pdf_text(await _pdf(http, link("bill", bill_id)))
    assert "Кількість Ціна, грн" in page, page
    assert "Технічна перевірка схеми обліку 1 послуга 196.64 196.64" in page, page
    assert "кВт·год" not in page and "196.6400" not in page
