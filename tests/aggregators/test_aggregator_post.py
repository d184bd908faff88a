"""aggregatorPaymentPost: one Payment per post, idempotent by (client, transactionId), validated."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from models import AggregatorPayment, Payment
from models.base import ChargeCategory, PaymentChannel
from services.demo import DEMO_PASSWORD
from tests.aggregators.aggregator_helpers import (
    CUSTOMER,
    NUMBER,
    POST,
    account_make,
    api,
    client_make,
    counts,
    post,
    post_input,
)


async def _customer(gql, number: str = NUMBER) -> dict:
    """The personal account as its holder sees it in the cabinet."""
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    try:
        accounts = (await gql(CUSTOMER))["data"]["viewer"]["personalAccounts"]
    finally:
        gql.token = None
    return next(a for a in accounts if a["number"] == number)


async def test_a_post_is_one_aggregator_payment_and_one_payment(world, db, gql):
    pa = await account_make(db)
    key = await client_make(db)
    # 22:30 UTC on the 25th is 01:30 on the 26th in Kyiv.
    result = await post(gql, key, amount="50.5", category="SERVICES", paidAt="2014-05-25T22:30:00Z")
    assert result["__typename"] == "AggregatorPaymentPostSuccess"
    assert result["duplicate"] is False
    payment = result["payment"]
    assert {k: v for k, v in payment.items() if k != "postedAt"} == {
        "transactionId": "T-0001",
        "resCode": "0101",
        "personalAccountNumber": NUMBER,
        "category": "SERVICES",
        "amount": "50.50",
        "paidAt": "2014-05-25T22:30:00Z",
    }
    posted_at = dt.datetime.fromisoformat(payment["postedAt"])
    assert abs(posted_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    async with db.sessions() as s:
        stored = (await s.execute(select(AggregatorPayment))).scalar_one()
        credit = (await s.execute(select(Payment).where(Payment.aggregator_payment_id == stored.id))).scalar_one()
    assert (credit.personal_account_id, credit.channel, credit.category) == (
        pa,
        PaymentChannel.AGGREGATOR,
        ChargeCategory.SERVICES,
    )
    assert credit.amount == Decimal("50.50")
    assert credit.paid_on == dt.date(2014, 5, 26)
    assert credit.bill_id is None
    assert await counts(db) == (1, 1)


async def test_debt_drops_at_once_and_bills_are_paid_oldest_first(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    before = await _customer(gql)
    assert before["debt"]["total"] == "90.81"
    statuses = lambda account: [  # noqa: E731
        (e["node"]["status"], e["node"]["amountDue"]) for e in reversed(account["bills"]["edges"])
    ]
    # The 90.00 of payments cover the oldest bill and part of the second.
    assert statuses(before) == [("PAID", "0.00"), ("PARTIALLY_PAID", "30.54"), ("UNPAID", "60.27")]

    assert (await post(gql, key, amount="50.00"))["__typename"] == "AggregatorPaymentPostSuccess"
    after = await _customer(gql)
    assert after["debt"]["total"] == "40.81"
    assert after["debt"]["categories"][0] == {"category": "ELECTRICITY", "amount": "40.81"}
    assert statuses(after) == [("PAID", "0.00"), ("PAID", "0.00"), ("PARTIALLY_PAID", "40.81")]

    # More than the debt is an advance: the category goes negative.
    await post(gql, key, amount="100.00", transactionId="T-0002")
    assert (await _customer(gql))["debt"]["total"] == "-59.19"


async def test_a_replay_with_the_same_data_is_a_duplicate_and_changes_nothing(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    first = await post(gql, key)
    # The same money written differently, the same instant in another offset.
    again = await post(gql, key, amount="50", paidAt="2014-05-26T07:00:00Z")
    assert again["duplicate"] is True
    assert again["payment"] == first["payment"]
    assert (await post(gql, key))["duplicate"] is True
    assert await counts(db) == (1, 1)
    assert (await _customer(gql))["debt"]["total"] == "40.81"


@pytest.mark.parametrize(
    "changes",
    [
        {"amount": "50.01"},
        {"category": "ACTS"},
        {"paidAt": "2014-05-26T10:00:01+03:00"},
        {"personalAccountNumber": "9000002"},
    ],
)
async def test_the_same_transaction_id_with_other_data_is_refused(world, db, gql, changes):
    await account_make(db)
    await account_make(db, number="9000002", login=None, bills=0)
    key = await client_make(db)
    await post(gql, key)
    refused = await post(gql, key, **changes)
    assert refused["__typename"] == "OperationError"
    assert refused["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await counts(db) == (1, 1)


async def test_transaction_ids_belong_to_their_client(world, db, gql):
    await account_make(db)
    one = await client_make(db, name="one")
    two = await client_make(db, name="two")
    assert (await post(gql, one))["duplicate"] is False
    assert (await post(gql, two))["duplicate"] is False
    # Even with other data: it is the other client's id space.
    assert (await post(gql, two, transactionId="T-0009", amount="1.00"))["duplicate"] is False
    assert (await post(gql, one, transactionId="T-0009", amount="2.00"))["duplicate"] is False
    assert await counts(db) == (4, 4)


async def test_twenty_identical_posts_at_once_make_one_payment(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    results = await asyncio.gather(*(post(gql, key) for _ in range(20)))
    assert [r["__typename"] for r in results] == ["AggregatorPaymentPostSuccess"] * 20
    assert sorted(r["duplicate"] for r in results) == [False] + [True] * 19
    assert len({r["payment"]["postedAt"] for r in results}) == 1
    assert await counts(db) == (1, 1)
    assert (await _customer(gql))["debt"]["total"] == "40.81"


async def test_twenty_different_posts_at_once_all_count(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    results = await asyncio.gather(*(post(gql, key, transactionId=f"T-{i:04}", amount="1.50") for i in range(20)))
    assert [r["duplicate"] for r in results] == [False] * 20
    assert await counts(db) == (20, 20)
    assert (await _customer(gql))["debt"]["total"] == "60.81"


async def test_conflicting_posts_at_once_give_one_payment_and_refusals(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    results = await asyncio.gather(*(post(gql, key, amount=f"{10 + i}.00") for i in range(10)))
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["AggregatorPaymentPostSuccess"] + ["OperationError"] * 9
    assert {r["code"] for r in results if r["__typename"] == "OperationError"} == {"IDEMPOTENCY_KEY_REUSED"}
    assert await counts(db) == (1, 1)


@pytest.mark.parametrize("amount", ["0", "0.00", "-1.00", "0.001", "12.345", "100000.01", "1000000"])
async def test_bad_amounts(world, db, gql, amount):
    await account_make(db)
    key = await client_make(db)
    refused = await post(gql, key, amount=amount)
    assert refused["__typename"] == "ValidationError"
    assert refused["code"] == "AMOUNT_INVALID"
    assert [(f["path"], f["code"]) for f in refused["fields"]] == [(["input", "amount"], "AMOUNT_INVALID")]
    assert "100000.00" in refused["fields"][0]["message"]
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize("amount", ["0.01", "100000.00", "100000", "7.5"])
async def test_amounts_at_the_edges_are_accepted(world, db, gql, amount):
    await account_make(db)
    key = await client_make(db)
    assert (await post(gql, key, amount=amount))["__typename"] == "AggregatorPaymentPostSuccess"


@pytest.mark.parametrize("amount", ["1e3", "NaN", "Infinity", "12,50", ""])
async def test_malformed_amounts_never_reach_the_service(world, db, gql, amount):
    await account_make(db)
    key = await client_make(db)
    result = await gql(POST, {"input": post_input(amount=amount)}, headers=api(key))
    assert result.get("data") is None and result["errors"]
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize("paid_at", ["2014-05-26T10:00:00", "2014-05-26", "yesterday"])
async def test_paid_at_must_carry_an_offset(world, db, gql, paid_at):
    await account_make(db)
    key = await client_make(db)
    result = await gql(POST, {"input": post_input(paidAt=paid_at)}, headers=api(key))
    assert result.get("data") is None and result["errors"]
    assert await counts(db) == (0, 0)


async def test_paid_at_in_the_future_is_refused_beyond_a_few_minutes(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    now = dt.datetime.now(dt.UTC)
    late = (now + dt.timedelta(minutes=10)).isoformat()
    refused = await post(gql, key, paidAt=late)
    assert refused["__typename"] == "ValidationError"
    assert [f["path"] for f in refused["fields"]] == [["input", "paidAt"]]
    # A clock a minute ahead of ours is fine.
    ahead = (now + dt.timedelta(minutes=1)).isoformat()
    assert (await post(gql, key, paidAt=ahead, transactionId="T-0002"))["duplicate"] is False
    too_old = await post(gql, key, paidAt="1999-12-31T23:00:00+02:00", transactionId="T-0003")
    assert [f["path"] for f in too_old["fields"]] == [["input", "paidAt"]]


@pytest.mark.parametrize(
    ("transaction_id", "code"),
    [("", "REQUIRED"), ("   ", "REQUIRED"), ("x" * 65, "TOO_LONG"), ("T\n1", "INVALID_FORMAT")],
)
async def test_bad_transaction_ids(world, db, gql, transaction_id, code):
    await account_make(db)
    key = await client_make(db)
    refused = await post(gql, key, transactionId=transaction_id)
    assert [(f["path"], f["code"]) for f in refused["fields"]] == [(["input", "transactionId"], code)]


async def test_a_64_character_transaction_id_is_fine(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    result = await post(gql, key, transactionId="x" * 64)
    assert result["payment"]["transactionId"] == "x" * 64


async def test_unknown_res_and_personal_account(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    unknown_res = await post(gql, key, resCode="9999")
    assert [(f["path"], f["code"]) for f in unknown_res["fields"]] == [(["input", "resCode"], "UNKNOWN_RES")]
    unknown_account = await post(gql, key, personalAccountNumber="9000404")
    assert [(f["path"], f["code"]) for f in unknown_account["fields"]] == [
        (["input", "personalAccountNumber"], "PERSONAL_ACCOUNT_NOT_FOUND")
    ]
    assert await counts(db) == (0, 0)


async def test_every_bad_field_is_reported_at_once(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    refused = await post(gql, key, amount="0", transactionId="x" * 65, paidAt=future, personalAccountNumber="9000404")
    assert refused["__typename"] == "ValidationError"
    assert sorted((tuple(f["path"]), f["code"]) for f in refused["fields"]) == [
        (("input", "amount"), "AMOUNT_INVALID"),
        (("input", "paidAt"), "INVALID_INPUT"),
        (("input", "personalAccountNumber"), "PERSONAL_ACCOUNT_NOT_FOUND"),
        (("input", "transactionId"), "TOO_LONG"),
    ]
    assert await counts(db) == (0, 0)


async def test_a_refused_post_can_be_sent_again_corrected(world, db, gql):
    await account_make(db)
    key = await client_make(db)
    assert (await post(gql, key, amount="0"))["__typename"] == "ValidationError"
    assert (await post(gql, key))["duplicate"] is False
    assert await counts(db) == (1, 1)
