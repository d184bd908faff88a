"""Shared pieces of the aggregator tests: queries, API keys, a personal account with history."""

from __future__ import annotations

from sqlalchemy import func, select

from models import AggregatorPayment, Payment
from services.api_clients import SCOPES, api_client_create
from tests.builders import history_make, personal_account_make

HOLDER = "Лысенко Александра Афанасьевна"
NUMBER = "9000001"

LOOKUP = """query($res: String!, $number: String!) { debtLookup(resCode: $res, personalAccountNumber: $number) {
  __typename
  ... on DebtLookup { resCode personalAccountNumber holderName debt { total categories { category amount } } }
  ... on ValidationError { code message fields { path code message } }
  ... on OperationError { code message } } }"""

POST = """mutation($input: AggregatorPaymentPostInput!) { aggregatorPaymentPost(input: $input) {
  __typename
  ... on AggregatorPaymentPostSuccess { duplicate
    payment { transactionId resCode personalAccountNumber category amount paidAt postedAt } }
  ... on ValidationError { code message fields { path code message } }
  ... on OperationError { code message } } }"""

REGISTRY = """query($from: Date, $to: Date, $first: Int, $after: String) {
  aggregatorPayments(from: $from, to: $to, first: $first, after: $after) {
    totalCount totalAmount period { from to }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { transactionId resCode personalAccountNumber category amount paidAt postedAt } } } }"""

CUSTOMER = """{ viewer { personalAccounts { number debt { total categories { category amount } }
  bills(from: "2000-01-01") { edges { node { number amount status amountDue } } } } } }"""


def api(key: str) -> dict:
    return {"authorization": f"ApiKey {key}"}


async def client_make(db, name: str = "kassa", scopes=SCOPES) -> str:
    async with db.transaction() as s:
        _, key = await api_client_create(session=s, name=name, scopes=list(scopes))
    return key


async def account_make(
    db, *, number: str = NUMBER, login: str | None = "lysenko", bills: int = 3, start: int = 50_000_000
) -> int:
    """A personal account with `bills` monthly bills of 60.27 and a 30.00 payment each."""
    async with db.transaction() as s:
        pa = await personal_account_make(s, number=number, login=login, holder=HOLDER)
        if bills:
            await history_make(s, personal_account_id=pa, bills=bills, start_number=start)
    return pa


def post_input(**changes) -> dict:
    values = {
        "resCode": "0101",
        "personalAccountNumber": NUMBER,
        "category": "ELECTRICITY",
        "amount": "50.00",
        "transactionId": "T-0001",
        "paidAt": "2014-05-26T10:00:00+03:00",
    }
    values.update(changes)
    return values


async def post(gql, key: str, **changes) -> dict:
    result = await gql(POST, {"input": post_input(**changes)}, headers=api(key))
    assert "errors" not in result, result
    return result["data"]["aggregatorPaymentPost"]


async def counts(db) -> tuple[int, int]:
    """(aggregator payments, payments of the AGGREGATOR channel)."""
    async with db.sessions() as s:
        posts = (await s.execute(select(func.count()).select_from(AggregatorPayment))).scalar_one()
        credits = (
            await s.execute(select(func.count()).select_from(Payment).where(Payment.channel == "AGGREGATOR"))
        ).scalar_one()
    return posts, credits


def codes(result: dict) -> set[str]:
    return {e["extensions"]["code"] for e in result.get("errors", [])}
