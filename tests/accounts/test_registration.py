"""accountRegister: field rules, terms, evidence, the pending login, no email enumeration."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, insert, select

from models import Account, ActivationRequest, Payment, PersonalAccount, Res, Throttle
from models.base import AccountStatus, ActivationMethod, ActivationStatus, ChargeCategory, PaymentChannel
from services.demo import demo_load
from services.evidence import last_payment_amount
from tests.accounts.account_helpers import (
    FRESH_PAYMENT,
    LAST_PAYMENT,
    METER,
    NUMBER,
    OLD_METER,
    PASSWORD,
    REGISTER,
    counted_on_address,
    field_codes,
    outbox,
    register,
    registration,
    sign_in,
)


async def accounts(db) -> dict[str, Account]:
    async with db.sessions() as s:
        return {a.login: a for a in (await s.execute(select(Account))).scalars()}


async def requests(db) -> list[ActivationRequest]:
    async with db.sessions() as s:
        return list((await s.execute(select(ActivationRequest).order_by(ActivationRequest.id))).scalars())


async def test_every_invalid_field_is_reported_at_once_and_nothing_is_created(world, gql, db):
    payload = await register(
        gql,
        fullName="R2D2",
        login="a",
        email="not-an-email",
        phones=[],
        password="short",
        resCode="",
        personalAccountNumber="№ 12",
        lastPaymentAmount="12.345",
        meterSerialNumber="X" * 65,
        acceptedTermsVersion="1999-01",
    )
    assert payload["__typename"] == "ValidationError"
    assert field_codes(payload) == {
        "input/fullName": "INVALID_FORMAT",
        "input/login": "TOO_SHORT",
        "input/email": "INVALID_FORMAT",
        "input/resCode": "REQUIRED",
        "input/personalAccountNumber": "INVALID_FORMAT",
        "input/meterSerialNumber": "TOO_LONG",
        "input/lastPaymentAmount": "INVALID_FORMAT",
        "input/phones": "REQUIRED",
        "input/password": "TOO_SHORT",
        "input/acceptedTermsVersion": "TERMS_NOT_ACCEPTED",
    }
    # The first field of the form leads; messages carry their limits.
    assert payload["code"] == "INVALID_FORMAT"
    messages = {"/".join(f["path"]): f["message"] for f in payload["fields"]}
    assert messages["input/login"] == "Занадто коротко: щонайменше 3 символів."
    assert set(await accounts(db)) == {"admin"}
    assert await requests(db) == []
    assert await outbox(db) == []


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("login", "x" * 65, "TOO_LONG"),
        ("login", "petr enko", "INVALID_FORMAT"),
        ("login", "petr@enko", "INVALID_FORMAT"),
        ("login", "петренко", "INVALID_FORMAT"),
        ("login", "   ", "REQUIRED"),
        ("email", "a@b", "INVALID_FORMAT"),
        # One address only: SMTP delivered "a@b.com,postmaster" to both.
        ("email", "a@b.com,postmaster", "INVALID_FORMAT"),
        ("email", "foo<victim@evil.example>", "INVALID_FORMAT"),  # a display name
        ("email", "Foo <victim@example.com>", "INVALID_FORMAT"),
        ("email", "a\x1b@example.com", "INVALID_FORMAT"),  # ESC
        ("email", "a\x7f@example.com", "INVALID_FORMAT"),  # DEL
        ("email", "a@example.com\r\nBcc: x@example.com", "INVALID_FORMAT"),
        ("email", "x" * 250 + "@b.ua", "TOO_LONG"),
        ("fullName", "П", "TOO_SHORT"),
        ("fullName", "П" * 201, "TOO_LONG"),
        ("password", "x" * 129, "TOO_LONG"),
        ("password", "password123", "PASSWORD_TOO_COMMON"),
        ("password", "Qwertyuiop", "PASSWORD_TOO_COMMON"),
        ("password", "Petrenko", "PASSWORD_TOO_COMMON"),  # the login itself
        ("phones", ["12"], "INVALID_FORMAT"),
        ("phones", ["+380 50 123"], "INVALID_FORMAT"),
        ("phones", ["0501234567"] * 6, "TOO_LONG"),
        ("lastPaymentAmount", "0", "INVALID_FORMAT"),
        ("lastPaymentAmount", "-5.00", "INVALID_FORMAT"),
        ("lastPaymentAmount", "12.340", "INVALID_FORMAT"),
        ("lastPaymentAmount", "1000000.00", "INVALID_FORMAT"),
        ("personalAccountNumber", "1" * 33, "TOO_LONG"),
    ],
)
async def test_field_rules(world, gql, field, value, code):
    payload = await register(gql, **{field: value})
    assert payload["__typename"] == "ValidationError", payload
    codes = field_codes(payload)
    path = f"input/{field}/0" if field == "phones" and code == "INVALID_FORMAT" else f"input/{field}"
    assert codes == {path: code}


async def test_a_password_of_exactly_8_and_128_characters_is_fine(world, gql):
    assert (await register(gql, password="Zq8#kLm2"))["__typename"] == "AccountRegisterSuccess"
    long = await register(gql, login="other", email="other@example.com", password="Zq8#kLm2" * 16)
    assert long["__typename"] == "AccountRegisterSuccess"


async def test_malformed_decimal_evidence_is_refused_before_the_resolver(world, gql):
    result = await gql(REGISTER, {"input": registration(lastPaymentAmount="1e3")})
    assert result["errors"] and result.get("data") is None


async def test_unknown_res_and_personal_account_are_field_errors(world, gql):
    unknown_res = await register(gql, resCode="9999")
    assert field_codes(unknown_res) == {"input/resCode": "UNKNOWN_RES"}
    unknown_number = await register(gql, personalAccountNumber="0000000", password="short")
    assert field_codes(unknown_number) == {
        "input/personalAccountNumber": "PERSONAL_ACCOUNT_NOT_FOUND",
        "input/password": "TOO_SHORT",
    }
    # The number is looked up within its RES.
    wrong_res = await register(gql, resCode="0102")
    assert field_codes(wrong_res) == {"input/personalAccountNumber": "PERSONAL_ACCOUNT_NOT_FOUND"}


async def test_terms_must_be_the_version_in_force(world, gql):
    current = (await gql("{ terms { version } }"))["data"]["terms"]["version"]
    assert current == "2014-01"
    for outdated_or_future in ["2013-01", "2015-01", ""]:
        assert field_codes(await register(gql, acceptedTermsVersion=outdated_or_future)) == {
            "input/acceptedTermsVersion": "TERMS_NOT_ACCEPTED"
        }
    assert (await register(gql, acceptedTermsVersion=current))["__typename"] == "AccountRegisterSuccess"


async def test_without_evidence_the_login_is_pending_and_cannot_sign_in(world, gql, db):
    assert await register(gql) == {"__typename": "AccountRegisterSuccess", "activated": False}
    account = (await accounts(db))["petrenko"]
    assert account.status == AccountStatus.PENDING
    assert account.phones == ["+380501234567"]
    assert account.full_name == "Петренко Іван Миколайович"
    [request] = await requests(db)
    assert (request.status, request.method, request.at_registration) == (ActivationStatus.PENDING, None, True)
    assert request.personal_account_id == world["pa"]
    refused = await sign_in(gql, "petrenko")
    assert refused["code"] == "ACCOUNT_NOT_ACTIVE"
    [mail] = await outbox(db)
    assert (mail.kind, mail.to_address, mail.language, mail.account_id) == (
        "registration_received",
        "petrenko@example.com",
        "uk",
        account.id,
    )
    assert "petrenko" in mail.body


async def test_the_current_meter_activates_at_once(world, gql, db, settings):
    payload = await register(gql, meterSerialNumber=METER)
    assert payload == {"__typename": "AccountRegisterSuccess", "activated": True}
    [request] = await requests(db)
    assert (request.status, request.method) == (ActivationStatus.APPROVED, ActivationMethod.METER_NUMBER)
    assert request.decided_at is not None and request.decided_by_id is None
    assert (await accounts(db))["petrenko"].status == AccountStatus.ACTIVE
    signed_in = await sign_in(gql, "petrenko")
    assert signed_in["account"] == {"login": "petrenko", "status": "ACTIVE"}
    viewer = await gql("{ viewer { personalAccounts { number } } }", token=signed_in["accessToken"])
    assert viewer["data"]["viewer"]["personalAccounts"] == [{"number": NUMBER}]
    [mail] = await outbox(db)
    assert mail.kind == "activation_approved" and mail.to_address == "petrenko@example.com"
    assert settings.public_url in mail.body and NUMBER in mail.body


async def test_meter_serial_compares_without_case_spaces_or_dashes(world, gql):
    assert (await register(gql, meterSerialNumber=" sn 77701 "))["activated"] is True


@pytest.mark.parametrize(
    ("evidence", "method"),
    [
        ({"lastPaymentAmount": str(LAST_PAYMENT)}, "LAST_PAYMENT_AMOUNT"),
        ({"lastPaymentAmount": "111.1"}, None),
        # The earlier entry of the same day, a later payment, another category, the old meter.
        ({"lastPaymentAmount": "100.00"}, None),
        ({"lastPaymentAmount": str(FRESH_PAYMENT)}, None),
        ({"lastPaymentAmount": "333.33"}, None),
        ({"lastPaymentAmount": "85.08"}, None),
        ({"meterSerialNumber": OLD_METER}, None),
        # One matching piece is enough, as the manual says.
        ({"meterSerialNumber": "WRONG", "lastPaymentAmount": str(LAST_PAYMENT)}, "LAST_PAYMENT_AMOUNT"),
        ({"meterSerialNumber": METER, "lastPaymentAmount": "1.00"}, "METER_NUMBER"),
    ],
)
async def test_evidence_rules(world, gql, db, evidence, method):
    payload = await register(gql, **evidence)
    assert payload == {"__typename": "AccountRegisterSuccess", "activated": method is not None}
    [request] = await requests(db)
    assert request.method == (ActivationMethod(method) if method else None)
    assert request.status == (ActivationStatus.APPROVED if method else ActivationStatus.PENDING)


async def test_evidence_is_kept_on_the_request_for_the_admin(world, gql, db):
    await register(gql, meterSerialNumber="GUESS-1", lastPaymentAmount="12.30")
    [request] = await requests(db)
    assert request.meter_serial_number == "GUESS-1"
    assert str(request.last_payment_amount) == "12.30"


async def test_a_taken_login_is_refused_whatever_its_case(world, gql, db):
    await register(gql)
    taken = await register(gql, login="PetRenko", email="someone-else@example.com")
    assert taken["__typename"] == "OperationError"
    assert taken["code"] == "LOGIN_TAKEN"
    assert taken["message"] == "Цей логін уже зайнятий."
    assert (await register(gql, login="ADMIN", email="x@example.com"))["code"] == "LOGIN_TAKEN"
    assert len(await accounts(db)) == 2


async def test_a_registered_email_gets_the_same_answer_and_creates_nothing(world, gql, db, settings):
    fresh = await gql(REGISTER, {"input": registration(login="first", email="Olena@Example.com")})
    await outbox(db)
    again = await gql(REGISTER, {"input": registration(login="second", email="olena@example.COM")})
    unknown = await gql(REGISTER, {"input": registration(login="third", email="nobody@example.com")})
    # The same answer, byte for byte, for a registered and an unregistered address.
    assert (
        again
        == unknown
        == fresh
        == {"data": {"accountRegister": {"__typename": "AccountRegisterSuccess", "activated": False}}}
    )
    assert set(await accounts(db)) == {"admin", "first", "third"}
    assert "second" not in {r.account_id for r in await requests(db)}
    taken = await outbox(db, kind="registration_email_taken")
    assert [(m.to_address, m.language) for m in taken] == [("Olena@Example.com", "uk")]
    assert settings.public_url in taken[0].body
    assert "second" not in taken[0].body  # the letter names no one


async def test_a_registered_email_with_matching_evidence_is_still_not_activated(world, gql, db):
    await register(gql, login="first", email="olena@example.com")
    payload = await register(gql, login="second", email="olena@example.com", meterSerialNumber=METER)
    assert payload == {"__typename": "AccountRegisterSuccess", "activated": False}
    assert "second" not in await accounts(db)


async def test_linked_elsewhere_waits_for_an_admin_and_the_holder_is_told(world, gql, db):
    first = await gql(
        REGISTER,
        {"input": registration(login="holder", email="holder@example.com", meterSerialNumber=METER)},
        headers={"accept-language": "en"},
    )
    assert first["data"]["accountRegister"]["activated"] is True
    second = await register(gql, login="spouse", email="spouse@example.com", meterSerialNumber=METER)
    assert second == {"__typename": "AccountRegisterSuccess", "activated": False}
    spouse = (await accounts(db))["spouse"]
    assert spouse.status == AccountStatus.PENDING
    [_, request] = await requests(db)
    assert (request.status, request.account_id) == (ActivationStatus.PENDING, spouse.id)
    [told] = await outbox(db, kind="personal_account_requested")
    # The holder is written to in the language they registered in.
    assert (told.to_address, told.language) == ("holder@example.com", "en")
    assert "spouse" in told.body and NUMBER in told.body
    assert [m.kind for m in await outbox(db, to_address="spouse@example.com")] == ["registration_received"]


async def test_the_language_of_the_request_is_kept_for_later_mail(world, gql, db):
    result = await gql(REGISTER, {"input": registration()}, headers={"accept-language": "ru-RU,ru;q=0.9"})
    assert result["data"]["accountRegister"]["activated"] is False
    assert (await accounts(db))["petrenko"].language == "ru"
    [mail] = await outbox(db)
    assert mail.language == "ru" and mail.subject == "Заявка на регистрацию получена"


async def test_evidence_guesses_are_throttled_per_personal_account(world, gql, db, settings):
    for i in range(settings.throttle_free_failures + 1):
        payload = await register(gql, login=f"guess{i}", email=f"guess{i}@example.com", lastPaymentAmount=f"{i + 1}.00")
        assert payload["activated"] is False
    refused = await register(gql, login="guess-right", email="right@example.com", meterSerialNumber=METER)
    assert (refused["__typename"], refused["code"]) == ("OperationError", "TOO_MANY_ATTEMPTS")
    assert refused["retryAfter"] >= 1
    async with db.sessions() as s:
        keys = dict((await s.execute(select(Throttle.key, Throttle.failures))).all())
    assert keys == {"evidence:0101/5550001": 6}
    assert await counted_on_address(db, "evidence") == {"evidence:0101/5550001"}
    # A registration without evidence guesses nothing and goes through.
    assert (await register(gql, login="patient", email="patient@example.com"))["activated"] is False


async def test_no_evidence_and_right_evidence_count_no_failure(world, gql, db):
    await register(gql, login="one", email="one@example.com")
    await register(gql, login="two", email="two@example.com", meterSerialNumber=METER)
    async with db.sessions() as s:
        assert (await s.execute(select(func.count()).select_from(Throttle))).scalar_one() == 0


async def test_concurrent_registrations_of_one_login_give_one_account(world, gql, db):
    results = await asyncio.gather(
        *[gql(REGISTER, {"input": registration(email=f"racer{i}@example.com")}) for i in range(4)]
    )
    payloads = [r["data"]["accountRegister"] for r in results]
    assert sorted(p["__typename"] for p in payloads) == ["AccountRegisterSuccess"] + ["OperationError"] * 3
    assert {p.get("code") for p in payloads if p["__typename"] == "OperationError"} == {"LOGIN_TAKEN"}
    assert len(await requests(db)) == 1


async def test_racing_registrations_on_different_personal_accounts(world, gql, db):
    # Different personal accounts do not wait for each other: the unique indexes decide.
    same_login = await asyncio.gather(
        gql(REGISTER, {"input": registration(login="racer", email="one@example.com")}),
        gql(
            REGISTER,
            {
                "input": registration(
                    login="RACER", email="two@example.com", resCode="0102", personalAccountNumber="5550002"
                )
            },
        ),
    )
    kinds = sorted(r["data"]["accountRegister"].get("code", "OK") for r in same_login)
    assert kinds == ["LOGIN_TAKEN", "OK"]
    same_email = await asyncio.gather(
        gql(REGISTER, {"input": registration(login="first-of-two", email="shared@example.com")}),
        gql(
            REGISTER,
            {
                "input": registration(
                    login="second-of-two", email="SHARED@example.com", resCode="0102", personalAccountNumber="5550002"
                )
            },
        ),
    )
    # Both get the same answer; one login exists, and its owner hears of the other attempt.
    assert [r["data"]["accountRegister"] for r in same_email] == [
        {"__typename": "AccountRegisterSuccess", "activated": False}
    ] * 2
    logins = set(await accounts(db))
    assert len(logins & {"first-of-two", "second-of-two"}) == 1
    assert len(await outbox(db, kind="registration_email_taken")) == 1


async def test_the_latest_entry_of_a_day_is_the_last_payment(world, db, settings):
    async with db.transaction() as s:
        await s.execute(
            insert(Payment),
            [
                dict(
                    personal_account_id=world["pa"],
                    paid_on=dt.date(2014, 5, 19),
                    amount=Decimal(amount),
                    category=ChargeCategory.ELECTRICITY,
                    channel=PaymentChannel.BANK,
                    created_at=dt.datetime(2014, 5, 25, 9, tzinfo=dt.UTC),
                )
                for amount in ["7.00", "8.00"]
            ],
        )
    async with db.sessions() as s:
        amount = await last_payment_amount(session=s, personal_account_id=world["pa"], today=settings.today())
    # Entered together (one import): entry order decides.
    assert amount == Decimal("8.00")


async def test_concurrent_evidence_for_one_personal_account_links_one_login(world, gql, db):
    results = await asyncio.gather(
        *[
            gql(
                REGISTER,
                {"input": registration(login=f"runner{i}", email=f"runner{i}@example.com", meterSerialNumber=METER)},
            )
            for i in range(3)
        ]
    )
    activated = [r["data"]["accountRegister"]["activated"] for r in results]
    assert sorted(activated) == [False, False, True]


async def test_a_password_is_stored_as_argon2id_only(world, gql, db):
    await register(gql)
    stored = (await accounts(db))["petrenko"].password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("evidence", "activated"),
    [
        ({"meterSerialNumber": "01010200"}, True),
        ({"lastPaymentAmount": "245.50"}, True),
        # Paid on 23.05, after the latest bill (20.05): a stranger could have paid it.
        ({"lastPaymentAmount": "24.60"}, False),
    ],
)
async def test_the_demo_personal_account_0101020(db, settings, gql, evidence, activated):
    await demo_load(db, settings)
    async with db.sessions() as s:
        loaded = (
            await s.execute(
                select(PersonalAccount.id)
                .join(Res, Res.id == PersonalAccount.res_id)
                .where(Res.code == "0101", PersonalAccount.number == "0101020")
            )
        ).first()
    assert loaded is not None  # the manual's third demo personal account, nobody's login yet
    terms = (await gql("{ terms { version } }"))["data"]["terms"]["version"]
    payload = await register(
        gql,
        login="newcomer",
        email="newcomer@example.com",
        personalAccountNumber="0101020",
        acceptedTermsVersion=terms,
        **evidence,
    )
    assert payload == {"__typename": "AccountRegisterSuccess", "activated": activated}
    assert (await sign_in(gql, "newcomer"))["__typename"] == ("TokenCreateSuccess" if activated else "OperationError")
