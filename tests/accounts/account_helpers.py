"""GraphQL documents and small helpers shared by the accounts tests."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from sqlalchemy import insert, select

from models import Bill, Meter, OutboxMessage, Payment, PersonalAccount, Res, ThrottleSubject
from models.base import BillKind, ChargeCategory, PaymentChannel, RecordSource

PASSWORD = "correct horse battery"
ADMIN_PASSWORD = "admin staple battery"
# The world's personal account with evidence (RES 0101, the demo's Горлівський РЕМ).
NUMBER = "5550001"
METER = "SN-777-01"
OLD_METER = "OLD-0001"
LAST_PAYMENT = Decimal("111.11")
# Paid after the latest bill: a stranger could have made it.
FRESH_PAYMENT = Decimal("24.60")
TERMS = "2014-01"


async def personal_account_with_evidence(session, *, number: str, res_code: str = "0101") -> int:
    """A personal account whose evidence exercises every rule: a removed meter, two payments
    on one day, another category's payment, a payment after the latest bill, a bill not yet due."""
    res_id = (await session.execute(select(Res.id).where(Res.code == res_code))).scalar_one()
    pa = (
        await session.execute(
            insert(PersonalAccount)
            .values(
                res_id=res_id, number=number, holder_name="Петренко І. М.", address="м. Горлівка, вул. Пушкінська, 17"
            )
            .returning(PersonalAccount.id)
        )
    ).scalar_one()
    await session.execute(
        insert(Meter),
        [
            dict(
                personal_account_id=pa,
                serial_number=OLD_METER,
                digits=5,
                zones=["TOTAL"],
                installed_on=dt.date(2001, 1, 1),
                removed_on=dt.date(2011, 9, 1),
            ),
            dict(
                personal_account_id=pa, serial_number=METER, digits=5, zones=["TOTAL"], installed_on=dt.date(2011, 9, 1)
            ),
        ],
    )
    bill_numbers = {"0101": 70_000_000, "0102": 80_000_000}[res_code] + int(number[-4:]) * 10
    await session.execute(
        insert(Bill),
        [
            dict(
                personal_account_id=pa,
                number=bill_numbers + 1,
                category=ChargeCategory.ELECTRICITY,
                kind=BillKind.CONSUMPTION,
                issued_on=dt.date(2014, 4, 25),
                amount=Decimal("63.58"),
                source=RecordSource.IMPORT,
            ),
            dict(
                personal_account_id=pa,
                number=bill_numbers + 2,
                category=ChargeCategory.ELECTRICITY,
                kind=BillKind.CONSUMPTION,
                issued_on=dt.date(2014, 5, 20),
                amount=Decimal("56.07"),
                source=RecordSource.IMPORT,
            ),
            # Issued after the business date (an instalment falling due later): not formed yet.
            dict(
                personal_account_id=pa,
                number=bill_numbers + 3,
                category=ChargeCategory.ELECTRICITY_SCHEDULE,
                kind=BillKind.INSTALLMENT,
                issued_on=dt.date(2014, 6, 20),
                amount=Decimal("10.00"),
                source=RecordSource.IMPORT,
            ),
        ],
    )
    entered = dt.datetime(2014, 5, 25, 8, 0, tzinfo=dt.UTC)
    payment = dict(personal_account_id=pa, category=ChargeCategory.ELECTRICITY, channel=PaymentChannel.BANK)
    for row in [
        dict(payment, paid_on=dt.date(2014, 4, 1), amount=Decimal("85.08"), created_at=entered),
        # Two on one day: the later entry is the last payment.
        dict(payment, paid_on=dt.date(2014, 5, 12), amount=Decimal("100.00"), created_at=entered),
        dict(payment, paid_on=dt.date(2014, 5, 12), amount=LAST_PAYMENT, created_at=entered + dt.timedelta(minutes=5)),
        # Another category, later, is no evidence for electricity.
        dict(
            payment,
            paid_on=dt.date(2014, 5, 15),
            amount=Decimal("333.33"),
            category=ChargeCategory.ACTS,
            created_at=entered,
        ),
        dict(payment, paid_on=dt.date(2014, 5, 23), amount=FRESH_PAYMENT, created_at=entered),
    ]:
        await session.execute(insert(Payment).values(**row))
    return pa


ERROR_FIELDS = """
  ... on ValidationError { code message fields { path code message } }
  ... on OperationError { code message retryAfter }
"""

REGISTER = (
    """mutation($input: AccountRegisterInput!) { accountRegister(input: $input) {
  __typename ... on AccountRegisterSuccess { activated } %s } }"""
    % ERROR_FIELDS
)


REQUEST_FIELDS = """id status method personalAccountNumber lastPaymentAmount meterSerialNumber
  rejectionReason decidedAt decidedBy { login } createdAt res { code } account { login }
  personalAccount { number }"""

ADD = """mutation($input: PersonalAccountAddInput!) { personalAccountAdd(input: $input) {
  __typename ... on PersonalAccountAddSuccess { request { %s } personalAccount { id number } } %s } }""" % (
    REQUEST_FIELDS,
    ERROR_FIELDS,
)

APPROVE = """mutation($id: ID!) { activationApprove(id: $id) {
  __typename ... on ActivationDecideSuccess { request { %s } } %s } }""" % (REQUEST_FIELDS, ERROR_FIELDS)

REJECT = """mutation($id: ID!, $reason: String!) { activationReject(id: $id, reason: $reason) {
  __typename ... on ActivationDecideSuccess { request { %s } } %s } }""" % (REQUEST_FIELDS, ERROR_FIELDS)

QUEUE = (
    """query($status: ActivationStatus, $res: String, $first: Int, $after: String) {
  activationRequests(status: $status, resCode: $res, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { %s } } } }"""
    % REQUEST_FIELDS
)

VIEWER = (
    """{ viewer { login email pendingEmail phones status
  personalAccounts { number }
  activationRequests { %s } } }"""
    % REQUEST_FIELDS
)

RESET_REQUEST = (
    """mutation($v: String!) { passwordResetRequest(loginOrEmail: $v) {
  __typename ... on PasswordResetRequestSuccess { accepted } %s } }"""
    % ERROR_FIELDS
)

RESET = (
    """mutation($t: String!, $p: String!) { passwordReset(token: $t, newPassword: $p) {
  __typename ... on PasswordResetSuccess { reset } %s } }"""
    % ERROR_FIELDS
)

CHANGE = (
    """mutation($c: String!, $p: String!) { passwordChange(currentPassword: $c, newPassword: $p) {
  __typename ... on PasswordChangeSuccess { account { login } } %s } }"""
    % ERROR_FIELDS
)

UPDATE = (
    """mutation($input: AccountUpdateInput!) { accountUpdate(input: $input) {
  __typename ... on AccountUpdateSuccess { account { login email pendingEmail phones } } %s } }"""
    % ERROR_FIELDS
)

CONFIRM = (
    """mutation($t: String!) { accountEmailConfirm(token: $t) {
  __typename ... on AccountUpdateSuccess { account { login email pendingEmail } } %s } }"""
    % ERROR_FIELDS
)

MERGE = (
    """mutation($l: String!, $p: String!) { accountMerge(login: $l, password: $p) {
  __typename ... on AccountMergeSuccess { account { login personalAccounts { number } }
    moved { number } movedRequests { id status personalAccountNumber account { login } } } %s } }"""
    % ERROR_FIELDS
)


def registration(**overrides) -> dict:
    """A valid registration form for personal account NUMBER in RES 0101, without evidence."""
    values = {
        "fullName": "Петренко Іван Миколайович",
        "login": "petrenko",
        "email": "petrenko@example.com",
        "phones": ["+380 50 123 45 67"],
        "password": PASSWORD,
        "resCode": "0101",
        "personalAccountNumber": NUMBER,
        "acceptedTermsVersion": TERMS,
    }
    values.update(overrides)
    return values


async def register(gql, **overrides) -> dict:
    result = await gql(REGISTER, {"input": registration(**overrides)})
    assert "errors" not in result, result
    return result["data"]["accountRegister"]


async def sign_in(gql, login: str, password: str = PASSWORD, headers: dict | None = None) -> dict:
    return await gql.token_create(login, password, headers=headers)


async def token_of(gql, login: str, password: str = PASSWORD) -> str:
    payload = await sign_in(gql, login, password)
    assert payload["__typename"] == "TokenCreateSuccess", payload
    return payload["accessToken"]


async def admin_token(gql) -> str:
    return await token_of(gql, "admin", ADMIN_PASSWORD)


async def active_login(
    gql, login: str, *, email: str | None = None, number: str = NUMBER, res: str = "0101", **extra
) -> str:
    """Register a login that is active at once (by the meter), and sign it in."""
    payload = await register(
        gql,
        login=login,
        email=email or f"{login}@example.com",
        personalAccountNumber=number,
        resCode=res,
        meterSerialNumber=METER,
        **extra,
    )
    assert payload == {"__typename": "AccountRegisterSuccess", "activated": True}, payload
    return await token_of(gql, login)


def link_in(body: str, path: str) -> str:
    """The token of the first link to `path` in a letter's body."""
    match = re.search(re.escape(path) + r"#token=([A-Za-z0-9_\-]+)", body)
    assert match, body
    return match.group(1)


def field_codes(payload: dict) -> dict[str, str]:
    return {"/".join(f["path"]): f["code"] for f in payload["fields"]}


async def outbox(db, **where) -> list[OutboxMessage]:
    """Letters in the outbox, oldest first, filtered by column values."""
    async with db.sessions() as s:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list((await s.execute(query)).scalars())


async def counted_on_address(db, purpose: str, address: str = "127.0.0.1") -> set[str]:
    """What a client address was counted for in its hourly limit of `purpose` (the logins it
    failed to sign in to, the evidence targets it guessed wrong, the emails it registered)."""
    async with db.sessions() as s:
        rows = await s.execute(select(ThrottleSubject.subject).where(ThrottleSubject.key == f"{purpose}-ip:{address}"))
        return set(rows.scalars())
