"""Open card payments: a closed bank tab resumes, another payment in the way says how long and
which one, paymentCancel ends a CREATED one and never a PENDING or processed one."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

from sqlalchemy import func, select

from models import AuditEntry, InternetPayment, Payment
from resolvers.ids import global_id, pk_of
from services.demo import DEMO_PASSWORD
from tests.builders import link
from tests.payments.test_card_payments import START, account, bank_message, callback, form_params, start_input  # noqa: F401

CANCEL = """mutation($id: ID!) { paymentCancel(id: $id) {
  __typename
  ... on PaymentCancelSuccess { payment { id number status expiresAt } }
  ... on ValidationError { code fields { path code } }
  ... on OperationError { code message } } }"""
BILLS = """{ viewer { personalAccounts { bills(first: 2) { edges { node { id } } } } } }"""


async def start(gql, pa, **kwargs) -> dict:
    return (await gql(START, start_input(pa, **kwargs)))["data"]["paymentStart"]


# The history's own card payments were imported (no key); these are the ones started here.
STARTED = InternetPayment.idempotency_key.is_not(None)


async def payments_count(db) -> int:
    async with db.sessions() as s:
        return (await s.execute(select(func.count()).select_from(InternetPayment).where(STARTED))).scalar_one()


async def test_a_second_start_resumes_the_open_payment_whatever_the_key(account, gql, db):
    first = await start(gql, account, key="tab-1")
    # The bank's tab was closed; the person presses pay again, the frontend makes a new key.
    again = await start(gql, account, key="tab-2", amount="50.00")

    assert (first["__typename"], first["resumed"]) == ("PaymentStartSuccess", False)
    assert (again["__typename"], again["resumed"]) == ("PaymentStartSuccess", True)
    assert again["payment"] == first["payment"]  # its own amount (100.00), status and time
    assert again["checkout"] == first["checkout"]  # the very form the bank already knows
    assert await payments_count(db) == 1
    # The new key names nothing of its own: it resumes again, and is no reuse of tab-1.
    assert (await start(gql, account, key="tab-2", amount="50.00"))["payment"]["id"] == first["payment"]["id"]


async def test_a_payment_for_another_bill_is_refused_with_the_wait_and_the_open_payment(account, gql, db, settings):
    first = await start(gql, account)
    bill = (await gql(BILLS))["data"]["viewer"]["personalAccounts"][0]["bills"]["edges"][0]["node"]["id"]

    refused = await start(gql, account, key="other-bill", billId=bill)

    assert (refused["__typename"], refused["code"]) == ("OperationError", "PAYMENT_IN_PROGRESS")
    assert refused["paymentId"] == first["payment"]["id"]
    left = dt.datetime.fromisoformat(first["payment"]["expiresAt"]) - settings.now()
    assert 0 < refused["retryAfter"] <= settings.payment_ttl.total_seconds()
    assert abs(refused["retryAfter"] - left.total_seconds()) < 60  # the open payment's own time
    assert "скасуйте" in refused["message"] and "хв" in refused["message"]
    assert await payments_count(db) == 1


async def test_another_logins_open_payment_is_not_handed_over(account, gql, db):
    first = await start(gql, account)
    async with db.transaction() as s:
        await link(s, login="zakharov", personal_account_id=pk_of(account, "PersonalAccount"))
    await gql.sign_in("zakharov", DEMO_PASSWORD)

    refused = await start(gql, account, key="zakharov-1")

    assert (refused["code"], refused["paymentId"]) == ("PAYMENT_IN_PROGRESS", first["payment"]["id"])
    english = await gql(START, start_input(account, key="zakharov-2"), headers={"accept-language": "en"})
    assert "cancel" in english["data"]["paymentStart"]["message"]


async def test_cancel_ends_a_created_payment_and_the_category_is_free_again(account, gql, db):
    first = await start(gql, account)

    cancelled = (await gql(CANCEL, {"id": first["payment"]["id"]}))["data"]["paymentCancel"]

    assert cancelled["__typename"] == "PaymentCancelSuccess"
    assert cancelled["payment"]["status"] == "EXPIRED"
    # The bank's form keeps its time (its page may still take the card, and that would credit).
    assert cancelled["payment"]["expiresAt"] == first["payment"]["expiresAt"]
    fresh = await start(gql, account, key="after-cancel")
    assert (fresh["__typename"], fresh["resumed"]) == ("PaymentStartSuccess", False)
    assert fresh["payment"]["id"] != first["payment"]["id"] and fresh["checkout"] is not None
    # A retry of the cancel finds it over and says so; the old key gives the ended payment, no form.
    again = (await gql(CANCEL, {"id": first["payment"]["id"]}))["data"]["paymentCancel"]
    assert (again["__typename"], again["payment"]["status"]) == ("PaymentCancelSuccess", "EXPIRED")
    assert (await start(gql, account))["checkout"] is None
    async with db.sessions() as s:
        audit = (await s.execute(select(AuditEntry.action, AuditEntry.details))).all()
    assert [(a, str(first["payment"]["number"]) in d) for a, d in audit] == [("internet_payment_cancelled", True)]


async def test_a_pending_or_processed_payment_is_not_cancelled(account, gql, http, settings, db):
    pending = await start(gql, account)
    form = form_params(pending["checkout"])
    await callback(http, settings, bank_message(form, "wait_secure"))

    refused = (await gql(CANCEL, {"id": pending["payment"]["id"]}))["data"]["paymentCancel"]

    assert (refused["__typename"], refused["code"]) == ("OperationError", "PAYMENT_NOT_CANCELLABLE")
    assert "не можна скасувати" in refused["message"]
    await callback(http, settings, bank_message(form, "success"))
    processed = (await gql(CANCEL, {"id": pending["payment"]["id"]}))["data"]["paymentCancel"]
    assert processed["code"] == "PAYMENT_NOT_CANCELLABLE"
    async with db.sessions() as s:
        payment = (await s.execute(select(InternetPayment).where(STARTED))).scalar_one()
        credited = (
            await s.execute(select(func.sum(Payment.amount)).where(Payment.internet_payment_id == payment.id))
        ).scalar_one()
    assert (payment.status.value, credited) == ("PROCESSED", Decimal("100.00"))


async def test_a_success_after_cancel_still_credits(account, gql, http, settings, db):
    first = await start(gql, account)
    await gql(CANCEL, {"id": first["payment"]["id"]})

    assert (await callback(http, settings, bank_message(form_params(first["checkout"]), "success"))).status_code == 200

    async with db.sessions() as s:
        payment = (await s.execute(select(InternetPayment).where(STARTED))).scalar_one()
        credits = (
            (await s.execute(select(Payment.amount).where(Payment.internet_payment_id == payment.id))).scalars().all()
        )
    assert (payment.status.value, credits) == ("PROCESSED", [Decimal("100.00")])


async def test_cancel_of_someone_elses_or_a_malformed_id_is_not_found(account, gql):
    first = await start(gql, account)
    await gql.sign_in("zakharov", DEMO_PASSWORD)
    for payment_id in (
        first["payment"]["id"],
        "nonsense",
        global_id("Bill", pk_of(first["payment"]["id"], "InternetPayment")),
    ):
        result = (await gql(CANCEL, {"id": payment_id}))["data"]["paymentCancel"]
        assert (result["code"], result["fields"]) == ("NOT_FOUND", [{"path": ["id"], "code": "NOT_FOUND"}])


async def test_concurrent_cancel_and_start_leave_one_open_payment_at_most(account, gql, db):
    first = await start(gql, account)
    cancel, restart = await asyncio.gather(
        gql(CANCEL, {"id": first["payment"]["id"]}), gql(START, start_input(account, key="race"))
    )
    assert cancel["data"]["paymentCancel"]["__typename"] == "PaymentCancelSuccess"
    async with db.sessions() as s:
        open_ones = (
            await s.execute(
                select(func.count()).select_from(InternetPayment).where(STARTED, InternetPayment.status == "CREATED")
            )
        ).scalar_one()
    resumed = restart["data"]["paymentStart"]["resumed"]
    # Either the start came first and resumed the payment just cancelled, or it came after and
    # began a new one: never a resumed form of a payment that stays open beside a new one.
    assert (resumed, open_ones) in {(True, 0), (False, 1)}
