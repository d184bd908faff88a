"""The demo set (services/data/demo): the manual's accounts and figures, on the business date 2014-05-26."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import text

from models.base import ChargeCategory
from services.allocation import LedgerBill, LedgerPayment, allocate
from services.demo import demo_logins
from services.importing import DEMO_DIR, KINDS, demo_import

TODAY = dt.date(2014, 5, 26)
FIGURE_6_BILLS = [  # Рисунок 6, newest first: number, issued, period, amount
    (13942531, "2014-04-30", ("2014-04-11", "2014-04-27"), "256.64"),
    (13942529, "2014-04-15", None, "-50.00"),
    (13942526, "2014-04-14", ("2014-04-10", "2014-04-10"), "317.92"),
    (13942524, "2014-04-10", ("2014-04-09", "2014-04-09"), "12.45"),
    (13942517, "2014-04-08", ("2014-04-03", "2014-04-08"), "1519.71"),
    (13942515, "2014-04-04", ("2014-04-02", "2014-04-02"), "414.96"),
    (13942510, "2014-04-04", ("2014-03-28", "2014-04-01"), "146.22"),
]
FIGURE_5_DEBTS = {
    "ELECTRICITY": Decimal("1870.54"),
    "ELECTRICITY_SCHEDULE": Decimal("771.36"),
    "ACTS": Decimal("8149.11"),
    "ACTS_SCHEDULE": Decimal("8098.62"),
    "SERVICES": Decimal("589.16"),
}


async def _account_id(s, res: str, number: str) -> int:
    return (
        await s.execute(
            text(
                "SELECT pa.id FROM personal_account pa JOIN res r ON r.id = pa.res_id WHERE r.code = :r AND pa.number = :n"
            ),
            {"r": res, "n": number},
        )
    ).scalar_one()


async def _debts(s, account_id: int) -> dict[str, Decimal]:
    rows = await s.execute(
        text(
            """
            SELECT c.category,
                   coalesce((SELECT sum(amount) FROM bill WHERE personal_account_id = :pa AND category = c.category
                             AND issued_on <= :today), 0)
                 - coalesce((SELECT sum(amount) FROM payment WHERE personal_account_id = :pa AND category = c.category), 0)
                   AS debt
            FROM unnest(CAST(:categories AS text[])) AS c(category)
            """
        ),
        {"pa": account_id, "today": TODAY, "categories": [c.value for c in ChargeCategory]},
    )
    return {r.category: r.debt for r in rows}


async def _load(db, settings):
    async with db.transaction() as s:
        await demo_logins(s, settings)
        return await demo_import(s)


async def test_demo_files_cover_every_kind():
    assert sorted(p.stem for p in DEMO_DIR.glob("*.csv")) == sorted(KINDS)


async def test_demo_imports_and_reimports_unchanged(db, settings, imp):
    reports = await _load(db, settings)
    assert [r.kind for r in reports] == list(KINDS)
    assert all(r.inserted == r.rows and r.unchanged == 0 and not r.errors for r in reports), reports
    before = await imp.counts()

    async with db.transaction() as s:
        again = await demo_import(s)
    assert [(r.kind, r.rows) for r in again] == [(r.kind, r.rows) for r in reports]
    assert all(r.unchanged == r.rows and r.inserted == 0 and r.updated == 0 for r in again), again
    assert await imp.counts() == before


async def test_demo_reproduces_the_manuals_figures(db, settings):
    await _load(db, settings)
    async with db.transaction() as s:
        lysenko = await _account_id(s, "0101", "0101010")

        # Рисунок 5: the category debts.
        assert await _debts(s, lysenko) == FIGURE_5_DEBTS

        # Рисунок 6: the last year's electricity bills are exactly the manual's.
        bills = (
            await s.execute(
                text(
                    """
                    SELECT number, issued_on, period_start, period_end, amount FROM bill
                    WHERE personal_account_id = :pa AND category = 'ELECTRICITY'
                      AND issued_on > :year_ago AND issued_on <= :today
                    ORDER BY issued_on DESC, number DESC
                    """
                ),
                {"pa": lysenko, "year_ago": dt.date(2013, 5, 26), "today": TODAY},
            )
        ).all()
        expected = [
            (n, dt.date.fromisoformat(i), *((dt.date.fromisoformat(d) for d in p) if p else (None, None)), Decimal(a))
            for n, i, p, a in FIGURE_6_BILLS
        ]
        assert [tuple(b) for b in bills] == expected

        # …and the payments of that year: the bank payment and the four internet payments, once each.
        payments = (
            await s.execute(
                text(
                    """
                    SELECT p.paid_on, p.amount, p.channel, ip.number, ip.confirmed_at
                    FROM payment p LEFT JOIN internet_payment ip ON ip.id = p.internet_payment_id
                    WHERE p.personal_account_id = :pa AND p.category = 'ELECTRICITY' AND p.paid_on > :year_ago
                    ORDER BY p.amount
                    """
                ),
                {"pa": lysenko, "year_ago": dt.date(2013, 5, 26)},
            )
        ).all()
        kyiv = dt.timezone(dt.timedelta(hours=3))
        assert [(p.paid_on, p.amount, p.channel, p.number) for p in payments] == [
            (dt.date(2014, 4, 10), Decimal("10.00"), "INTERNET", 1714),
            (dt.date(2014, 4, 10), Decimal("20.00"), "INTERNET", 1707),
            (dt.date(2014, 4, 10), Decimal("55.63"), "INTERNET", 1706),
            (dt.date(2014, 4, 10), Decimal("100.55"), "INTERNET", 1708),
            (dt.date(2014, 4, 4), Decimal("561.18"), "BANK", None),
        ]
        confirmed = {p.number: p.confirmed_at for p in payments if p.number}
        assert confirmed[1706] == dt.datetime(2014, 4, 10, 12, 42, 40, tzinfo=kyiv)
        assert confirmed[1714] == dt.datetime(2014, 4, 10, 13, 18, 42, tzinfo=kyiv)

        # DESIGN's worked example: the allocation over every electricity bill and payment.
        all_bills = (
            await s.execute(
                text(
                    "SELECT id, number, category, issued_on, amount FROM bill "
                    "WHERE personal_account_id = :pa AND issued_on <= :today"
                ),
                {"pa": lysenko, "today": TODAY},
            )
        ).all()
        all_payments = (
            await s.execute(
                text("SELECT id, category, amount, bill_id FROM payment WHERE personal_account_id = :pa"),
                {"pa": lysenko},
            )
        ).all()
        allocation = allocate(
            [LedgerBill(b.id, b.number, ChargeCategory(b.category), b.issued_on, b.amount) for b in all_bills],
            [LedgerPayment(p.id, ChargeCategory(p.category), p.amount, p.bill_id) for p in all_payments],
        )
        assert {c.value: d for c, d in allocation.debt.items()} == FIGURE_5_DEBTS
        by_number = {b.number: b for b in all_bills}
        status = {
            n: allocation.status(LedgerBill(b.id, b.number, ChargeCategory(b.category), b.issued_on, b.amount)).value
            for n, b in by_number.items()
        }
        assert status[13942510] == status[13942515] == "PAID"
        assert status[13942517] == "PARTIALLY_PAID"
        assert allocation.due[by_number[13942517].id] == Decimal("1283.53")
        assert status[13942524] == status[13942526] == status[13942531] == "UNPAID"
        assert status[13942529] == "PAID"

        # The personal information block: last reading 48200 kWh on 27.04.2014, 5 digits, serial 01010100.
        last = (
            await s.execute(
                text(
                    """
                    SELECT mr.values, mr.taken_on, mr.consumption, m.serial_number, m.digits FROM meter_reading mr
                    JOIN meter m ON m.id = mr.meter_id WHERE mr.personal_account_id = :pa
                    ORDER BY mr.taken_on DESC LIMIT 1
                    """
                ),
                {"pa": lysenko},
            )
        ).one()
        assert tuple(last) == ([48200], dt.date(2014, 4, 27), 268, "01010100", 5)
        holder = (
            await s.execute(text("SELECT holder_name, address FROM personal_account WHERE id = :pa"), {"pa": lysenko})
        ).one()
        assert tuple(holder) == ("Лысенко Александра Афанасьевна", "м/у Горловка, ул. Кутузова б.4")

        # Every consumption bill of Рисунок 6 links its reading; its lines' kWh are the reading's consumption.
        linked = (
            await s.execute(
                text(
                    """
                    SELECT b.number, b.period_end, mr.taken_on, mr.consumption,
                           (SELECT sum(quantity) FROM bill_line l WHERE l.bill_id = b.id) AS kwh
                    FROM bill b JOIN meter_reading mr ON mr.id = b.reading_id
                    WHERE b.personal_account_id = :pa AND b.kind = 'CONSUMPTION'
                    """
                ),
                {"pa": lysenko},
            )
        ).all()
        assert sorted(r.number for r in linked) == sorted(n for n, _, p, _ in FIGURE_6_BILLS if p)
        assert all(r.period_end == r.taken_on and r.kwh == r.consumption for r in linked)

        # The lines of every bill that has lines sum to it.
        mismatched = (
            await s.execute(
                text(
                    """
                    SELECT b.number FROM bill b JOIN bill_line l ON l.bill_id = b.id
                    GROUP BY b.id HAVING sum(l.amount) <> b.amount
                    """
                )
            )
        ).all()
        assert mismatched == []

        # Two schedules, with instalments still to come after the business date.
        schedules = (
            await s.execute(
                text(
                    """
                    SELECT s.category, s.agreed_on, s.total, count(i.id) AS n,
                           count(i.id) FILTER (WHERE i.due_on > :today) AS later
                    FROM repayment_schedule s JOIN instalment i ON i.schedule_id = s.id
                    WHERE s.personal_account_id = :pa GROUP BY s.id ORDER BY s.agreed_on
                    """
                ),
                {"pa": lysenko, "today": TODAY},
            )
        ).all()
        assert [tuple(r) for r in schedules] == [
            ("ELECTRICITY_SCHEDULE", dt.date(2013, 3, 15), Decimal("3085.44"), 24, 10),
            ("ACTS_SCHEDULE", dt.date(2013, 10, 1), Decimal("21600.00"), 12, 5),
        ]


async def test_demo_other_accounts_and_links(db, settings):
    await _load(db, settings)
    async with db.transaction() as s:
        petrenko = await _account_id(s, "0101", "0101020")
        zakharov = await _account_id(s, "0102", "0101030")

        # 0101020: the last ELECTRICITY payment made before its latest bill was formed is 245.50,
        # and a later payment of another amount exists.
        row = (
            await s.execute(
                text(
                    """
                    SELECT p.amount FROM payment p WHERE p.personal_account_id = :pa AND p.category = 'ELECTRICITY'
                      AND p.paid_on < (SELECT max(issued_on) FROM bill WHERE personal_account_id = :pa
                                       AND category = 'ELECTRICITY' AND issued_on <= :today)
                    ORDER BY p.paid_on DESC, p.id DESC LIMIT 1
                    """
                ),
                {"pa": petrenko, "today": TODAY},
            )
        ).scalar_one()
        assert row == Decimal("245.50")
        latest = (
            await s.execute(
                text("SELECT amount FROM payment WHERE personal_account_id = :pa ORDER BY paid_on DESC LIMIT 1"),
                {"pa": petrenko},
            )
        ).scalar_one()
        assert latest != Decimal("245.50")
        meter = (
            await s.execute(text("SELECT serial_number FROM meter WHERE personal_account_id = :pa"), {"pa": petrenko})
        ).scalar_one()
        assert meter == "01010200"

        # 0101030 (Київ1): last reading 3603 kWh on 19.03.2013.
        last = (
            await s.execute(
                text(
                    "SELECT values, taken_on FROM meter_reading WHERE personal_account_id = :pa ORDER BY taken_on DESC LIMIT 1"
                ),
                {"pa": zakharov},
            )
        ).one()
        assert tuple(last) == ([3603], dt.date(2013, 3, 19))
        res_name = (
            await s.execute(
                text("SELECT r.name FROM res r JOIN personal_account pa ON pa.res_id = r.id WHERE pa.id = :pa"),
                {"pa": zakharov},
            )
        ).scalar_one()
        assert res_name == "Київ1"

        links = (
            await s.execute(
                text(
                    """
                    SELECT a.login, pa.number, ar.method, ar.at_registration FROM activation_request ar
                    JOIN account a ON a.id = ar.account_id JOIN personal_account pa ON pa.id = ar.personal_account_id
                    WHERE ar.status = 'APPROVED' ORDER BY a.login
                    """
                )
            )
        ).all()
        assert [tuple(r) for r in links] == [
            ("lysenko", "0101010", "ADMIN_REVIEW", True),
            ("zakharov", "0101030", "ADMIN_REVIEW", True),
        ]

        # The cabinet's numbering continues after the imported numbers: the manual's next bill is 13942590.
        assert (await s.execute(text("SELECT nextval('bill_number_seq')"))).scalar_one() == 13942590
        number = (
            await s.execute(
                text(
                    """
                    INSERT INTO internet_payment (personal_account_id, amount, category, status, expires_at)
                    VALUES (:pa, 1, 'ELECTRICITY', 'CREATED', now()) RETURNING number
                    """
                ),
                {"pa": zakharov},
            )
        ).scalar_one()
        assert number == 1715
        await s.rollback()
