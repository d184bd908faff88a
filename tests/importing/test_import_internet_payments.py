"""Kind internet-payments: one Payment per confirmed payment, never twice; numbering continues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from services.importing import ImportRejected

HEADER = [
    "external_id",
    "number",
    "res_code",
    "account_number",
    "login",
    "amount",
    "category",
    "bill_number",
    "created_at",
    "confirmed_at",
    "status",
    "bank_payment_id",
    "reversed_at",
]
ROWS = [
    [
        "IP-1706",
        "1706",
        "0101",
        "1000001",
        "",
        "55.63",
        "ELECTRICITY",
        "",
        "2014-04-10T12:41:05+03:00",
        "2014-04-10T12:42:40+03:00",
        "PROCESSED",
        "48113574",
        "",
    ],
    [
        "IP-1707",
        "1707",
        "0101",
        "1000001",
        "",
        "20.00",
        "ELECTRICITY",
        "",
        "2014-04-10T23:59:00+03:00",
        "2014-04-11T00:01:30+03:00",
        "PROCESSED",
        "48113702",
        "",
    ],
    [
        "IP-1709",
        "1709",
        "0101",
        "1000001",
        "",
        "30.00",
        "ELECTRICITY",
        "",
        "2014-04-10T12:55:00+03:00",
        "",
        "FAILED",
        "",
        "",
    ],
    [
        "IP-1710",
        "1710",
        "0101",
        "1000002",
        "",
        "40.00",
        "SERVICES",
        "",
        "2014-04-10T13:00:00+03:00",
        "",
        "EXPIRED",
        "",
        "",
    ],
    [
        "IP-1714",
        "1714",
        "0101",
        "1000002",
        "",
        "10.00",
        "ELECTRICITY",
        "",
        "2014-04-10T13:16:50+03:00",
        "2014-04-10T13:18:42+03:00",
        "REVERSED",
        "48115236",
        "2014-04-12T09:00:00+03:00",
    ],
]


async def _import(imp, rows=ROWS):
    return await imp.run("internet-payments", imp.csv(HEADER, rows))


async def test_one_payment_per_confirmed_payment_and_none_on_reimport(imp):
    await imp.reference()
    report = await _import(imp)
    assert (report.rows, report.inserted) == (5, 5)
    rows = await imp.rows(
        """
        SELECT ip.number, ip.status, ip.expires_at - ip.created_at AS ttl,
               count(p.id) FILTER (WHERE p.reverses_payment_id IS NULL) AS credits,
               count(p.id) FILTER (WHERE p.reverses_payment_id IS NOT NULL) AS reversals,
               min(p.paid_on) AS paid_on, sum(p.amount) AS net, min(p.channel) AS channel
        FROM internet_payment ip LEFT JOIN payment p ON p.internet_payment_id = ip.id
        GROUP BY ip.id ORDER BY ip.number
        """
    )
    assert [tuple(r) for r in rows] == [
        (1706, "PROCESSED", dt.timedelta(minutes=15), 1, 0, dt.date(2014, 4, 10), Decimal("55.63"), "INTERNET"),
        # Confirmed after midnight in Kyiv: paid on the Kyiv date, not the UTC one.
        (1707, "PROCESSED", dt.timedelta(minutes=15), 1, 0, dt.date(2014, 4, 11), Decimal("20.00"), "INTERNET"),
        (1709, "FAILED", dt.timedelta(minutes=15), 0, 0, None, None, None),
        (1710, "EXPIRED", dt.timedelta(minutes=15), 0, 0, None, None, None),
        (1714, "REVERSED", dt.timedelta(minutes=15), 1, 1, dt.date(2014, 4, 10), Decimal("0.00"), "INTERNET"),
    ]
    reversal = await imp.rows("SELECT paid_on, amount FROM payment WHERE reverses_payment_id IS NOT NULL")
    assert [tuple(r) for r in reversal] == [(dt.date(2014, 4, 12), Decimal("-10.00"))]

    before = await imp.counts()
    again = await _import(imp)
    assert (again.inserted, again.unchanged, again.updated) == (0, 5, 0)
    assert await imp.counts() == before


async def test_a_later_file_may_reverse_a_processed_payment_once(imp):
    await imp.reference()
    await _import(imp, ROWS[:1])
    reversed_row = ROWS[0][:10] + ["REVERSED", "48113574", "2014-04-15T10:00:00+03:00"]
    report = await _import(imp, [reversed_row])
    assert (report.updated, report.inserted) == (1, 0)
    rows = await imp.rows(
        "SELECT amount, paid_on, reverses_payment_id IS NOT NULL AS reversal FROM payment ORDER BY id"
    )
    assert [tuple(r) for r in rows] == [
        (Decimal("55.63"), dt.date(2014, 4, 10), False),
        (Decimal("-55.63"), dt.date(2014, 4, 15), True),
    ]
    assert await imp.scalar("SELECT status FROM internet_payment") == "REVERSED"
    before = await imp.counts()
    again = await _import(imp, [reversed_row])
    assert (again.unchanged, again.updated) == (1, 0)
    assert await imp.counts() == before

    # Back to PROCESSED, or another reversal date, is a conflict.
    with pytest.raises(ImportRejected) as e:
        await _import(imp, ROWS[:1])
    assert e.value.report.errors[0].message.endswith(
        "status (stored REVERSED, file PROCESSED); only PROCESSED → REVERSED is taken from a later file"
    )
    assert await imp.counts() == before


async def test_bad_and_conflicting_internet_payments(imp):
    await imp.reference()
    await _import(imp)
    await imp.session.execute(
        __import__("sqlalchemy").text(
            "INSERT INTO account (login, full_name, email, password_hash, role, status) "
            "VALUES ('ivan', 'Іван', 'ivan@example.test', 'x', 'CUSTOMER', 'ACTIVE')"
        )
    )
    before = await imp.counts()
    bad = [
        [
            "IP-1706",
            "1706",
            "0101",
            "1000001",
            "",
            "55.64",
            "ELECTRICITY",
            "",
            "2014-04-10T12:41:05+03:00",
            "2014-04-10T12:42:40+03:00",
            "PROCESSED",
            "48113574",
            "",
        ],
        [
            "IP-2000",
            "1707",
            "0101",
            "1000001",
            "",
            "1.00",
            "ELECTRICITY",
            "",
            "2014-04-10T12:41:05+03:00",
            "2014-04-10T12:42:40+03:00",
            "PROCESSED",
            "",
            "",
        ],
        [
            "IP-2001",
            "2001",
            "0101",
            "1000001",
            "IVAN",
            "1.00",
            "ELECTRICITY",
            "",
            "2014-04-10T12:41:05+03:00",
            "",
            "PROCESSED",
            "",
            "",
        ],
        [
            "IP-2002",
            "2002",
            "0101",
            "1000001",
            "nobody",
            "1.00",
            "ELECTRICITY",
            "",
            "2014-04-10 12:41:05",
            "",
            "FAILED",
            "",
            "",
        ],
        [
            "IP-2003",
            "2003",
            "0101",
            "1000001",
            "",
            "1.00",
            "ELECTRICITY",
            "",
            "2014-04-10T12:41:05+03:00",
            "2014-04-10T12:40:00+03:00",
            "EXPIRED",
            "",
            "",
        ],
        [
            "IP-2004",
            "2001",
            "0101",
            "1000001",
            "",
            "NaN",
            "ELECTRICITY",
            "",
            "2014-04-10T12:41:05+03:00",
            "",
            "CREATED",
            "",
            "",
        ],
    ]
    with pytest.raises(ImportRejected) as e:
        await _import(imp, bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (
            2,
            "internet payment IP-1706 already exists with different data: amount (stored 55.63, file 55.64); "
            "only PROCESSED → REVERSED is taken from a later file",
        ),
        (3, "number 1707 is already used by another internet payment (external id IP-1707)"),
        (4, "confirmed_at: required for a PROCESSED payment"),
        (
            5,
            "created_at: '2014-04-10 12:41:05' is not an ISO 8601 timestamp with an offset (2014-04-10T12:42:40+03:00)",
        ),
        (6, "confirmed_at: the payment is EXPIRED, it was never confirmed; leave it empty"),
        (6, "confirmed_at is before created_at"),
        (7, "amount: 'NaN' is not a decimal number with at most 2 decimals (digits and a dot only, no exponent)"),
        (7, "status: 'CREATED' is not one of PROCESSED, FAILED, EXPIRED, REVERSED"),
    ]
    assert await imp.counts() == before


def _row(external_id, number, status, confirmed_at="", reversed_at="", login=""):
    return [
        external_id,
        number,
        "0101",
        "1000001",
        login,
        "5.00",
        "ELECTRICITY",
        "",
        "2014-04-10T12:00:00+03:00",
        confirmed_at,
        status,
        "",
        reversed_at,
    ]


async def test_reversal_times_logins_and_stored_reversals(imp):
    await imp.reference()
    await _import(imp)
    # A stored PROCESSED payment whose credit is missing cannot be reversed.
    await imp.session.execute(
        __import__("sqlalchemy").text(
            "DELETE FROM payment WHERE internet_payment_id = (SELECT id FROM internet_payment WHERE external_id = 'IP-1707')"
        )
    )
    before = await imp.counts()
    confirmed = "2014-04-10T12:01:00+03:00"
    bad = [
        _row("IP-3001", "3001", "REVERSED", confirmed),
        _row("IP-3002", "3002", "PROCESSED", confirmed, "2014-04-11T10:00:00+03:00"),
        _row("IP-3003", "3003", "REVERSED", confirmed, "2014-04-10T12:00:30+03:00"),
        _row("IP-3004", "3004", "FAILED", login="nobody"),
        ROWS[4][:12] + ["2014-04-13T09:00:00+03:00"],  # IP-1714 was reversed on 2014-04-12
        ROWS[1][:10] + ["REVERSED", "48113702", "2014-04-12T09:00:00+03:00"],
    ]
    with pytest.raises(ImportRejected) as e:
        await _import(imp, bad)
    assert [(p.line, p.message) for p in e.value.report.errors] == [
        (2, "reversed_at: required for a REVERSED payment"),
        (3, "reversed_at: only a REVERSED payment has one"),
        (4, "reversed_at is before confirmed_at"),
        (5, "login: unknown login 'nobody'"),
        (
            6,
            "internet payment IP-1714 already exists with different data: reversal date (stored 2014-04-12, file 2014-04-13); "
            "only PROCESSED → REVERSED is taken from a later file",
        ),
        (7, "internet payment IP-1707 is PROCESSED but has no credit to reverse"),
    ]
    assert await imp.counts() == before


async def test_numbering_continues_after_the_highest_number(imp):
    await imp.reference()
    await _import(imp)
    account = await imp.scalar("SELECT id FROM personal_account WHERE number = '1000001'")

    async def next_number() -> int:
        return await imp.scalar(
            "INSERT INTO internet_payment (personal_account_id, amount, category, status, expires_at) "
            "VALUES (:pa, 1, 'ELECTRICITY', 'CREATED', now()) RETURNING number",
            pa=account,
        )

    assert await next_number() == 1715
    # An older, lower number imported later never moves the numbering back.
    await _import(
        imp,
        [
            [
                "IP-1500",
                "1500",
                "0101",
                "1000001",
                "",
                "5.00",
                "ELECTRICITY",
                "",
                "2014-03-01T10:00:00+02:00",
                "",
                "EXPIRED",
                "",
                "",
            ]
        ],
    )
    assert await next_number() == 1716
