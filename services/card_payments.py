"""Card payments: starting one, and what the bank says about it (DESIGN §3 Payments).

States: CREATED → PENDING → PROCESSED | FAILED | EXPIRED, and PROCESSED → REVERSED.
A verified success credits exactly once, even after FAILED or EXPIRED (the
card was charged); a reversal writes a negative Payment. Only the bank's
signed word moves a payment; the browser's return never does.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from mail.outbox import mail_enqueue
from models import Account, Bill, InternetPayment, Payment, PersonalAccount
from models.base import ChargeCategory, InternetPaymentStatus, PaymentChannel
from payments.liqpay import LiqPayKeys, signed_pair
from pdf.labels import purpose as purpose_text
from services.audit import audit_record
from services.errors import NotFound, OperationRefused, PaymentInProgress, Problems
from services.ledger import ledgers_load
from services.payment_return import payment_return_url
from services.periods import kyiv_date_until

S = InternetPaymentStatus
OPEN = (S.CREATED, S.PENDING)
FINAL = (S.PROCESSED, S.FAILED, S.EXPIRED, S.REVERSED)
NOTIFY_CHANNEL = "internet_payment"

# LiqPay's statuses, by what they mean for us.
BANK_SUCCESS = {"success"}
BANK_FAILURE = {"failure", "error"}
BANK_REVERSED = {"reversed"}
BANK_WAITING = {
    "processing",
    "prepared",
    "wait_secure",
    "3ds_verify",
    "otp_verify",
    "cvv_verify",
    "wait_accept",
    "wait_card",
    "wait_compensation",
    "hold_wait",
    "invoice_wait",
    "wait_reserve",
    "wait_lc",
    "password_verify",
    "phone_verify",
    "pin_verify",
    "receiver_verify",
    "sender_verify",
    "senderapp_verify",
    "ivr_verify",
    "captcha_verify",
}


def liqpay_keys(settings: Settings) -> LiqPayKeys:
    return LiqPayKeys(
        settings.liqpay_public_key, settings.liqpay_private_key.get_secret_value(), settings.liqpay_algorithm
    )


@dataclass(frozen=True, slots=True)
class Checkout:
    url: str
    method: str
    fields: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class StartOutcome:
    payment_id: int
    checkout: Checkout | None
    # The open payment of the same personal account, category and bill, given again.
    resumed: bool = False


def order_id(payment: InternetPayment) -> str:
    return f"uens-{payment.number}"


def checkout_form(
    *, settings: Settings, payment: InternetPayment, personal_account_number: str, bill_number: int | None
) -> Checkout:
    """The auto-submitted form to the bank's page. Built from the stored payment, so a retry
    with the same idempotency key gets the very same form. Its description is the payment
    purpose of the bill PDF and the receipt, with the order's own number."""
    purpose = purpose_text(payment.category.value, personal_account_number, bill_number)
    params = {
        "version": 3,
        "public_key": settings.liqpay_public_key,
        "action": "pay",
        "amount": format(payment.amount, "f"),
        "currency": "UAH",
        "description": f"{purpose}, платіж № {payment.number}",
        "order_id": order_id(payment),
        "language": "uk",
        "server_url": settings.payment_callback_url,
        "result_url": payment.return_url
        or payment_return_url(settings=settings, payment_id=payment.id, payment_expires_at=payment.expires_at),
        # LiqPay reads this as UTC, "YYYY-MM-DD HH:MM:SS".
        "expired_date": payment.expires_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
    }
    if settings.sandbox_bank:
        params["sandbox"] = 1
    data, signature = signed_pair(liqpay_keys(settings), params)
    return Checkout(url=settings.checkout_url, method="POST", fields=[("data", data), ("signature", signature)])


def _amount_check(problems: Problems, amount: Decimal, settings: Settings) -> None:
    exponent = amount.as_tuple().exponent  # not an int for NaN and infinities
    if not isinstance(exponent, int) or exponent < -2 or amount <= 0 or amount > settings.payment_max_amount:
        problems.add(("input", "amount"), "AMOUNT_INVALID", max=format(settings.payment_max_amount, "f"))


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin(parts: SplitResult) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, or None for one that names no plain web origin."""
    try:
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme]


def _return_url_allowed(settings: Settings, url: str) -> bool:
    """Same origin (scheme, host, port) as an allowed URL and a path under its path.

    A string prefix let `https://app.example.com.evil.net/x` pass for `https://app.example.com`.
    """
    if not url.isascii() or not url.isprintable() or " " in url or "\\" in url:
        return False
    wanted = urlsplit(url)
    origin = _origin(wanted)
    if origin is None:
        return False
    frontend = [settings.frontend_url] if settings.frontend_url else []
    for allowed in [settings.payment_result_url, *settings.payment_return_urls, *frontend]:
        base = urlsplit(allowed)
        if _origin(base) != origin:
            continue
        root = base.path.rstrip("/")
        if not root or wanted.path == root or wanted.path.startswith(root + "/"):
            return True
    return False


async def payment_start(
    *,
    session: AsyncSession,
    settings: Settings,
    account_id: int,
    personal_account_id: int,
    category: ChargeCategory | None,
    bill_id: int | None,
    amount: Decimal,
    idempotency_key: str,
    return_url: str | None,
    now: dt.datetime,
) -> StartOutcome:
    problems = Problems()
    _amount_check(problems, amount, settings)
    if category is None and bill_id is None:
        problems.add(("input", "category"), "REQUIRED")
    if not 1 <= len(idempotency_key) <= 128:
        problems.add(("input", "idempotencyKey"), "TOO_LONG" if idempotency_key else "REQUIRED", max=128)
    if return_url is not None and (len(return_url) > 2000 or not _return_url_allowed(settings, return_url)):
        problems.add(("input", "returnUrl"), "INVALID_FORMAT")
    problems.raise_if_any()

    # One start at a time per personal account: "press pay only once" is decided here.
    number = (
        await session.execute(
            select(PersonalAccount.number).where(PersonalAccount.id == personal_account_id).with_for_update()
        )
    ).scalar_one_or_none()
    if number is None:  # an admin may name any personal account, including one that does not exist
        raise NotFound(("input", "personalAccountId"))
    bill = None
    if bill_id is not None:
        bill = await session.get(Bill, bill_id)
        if bill is None or bill.personal_account_id != personal_account_id or bill.issued_on > settings.today():
            raise NotFound(("input", "billId"))
        category = bill.category
    assert category is not None  # given, or the bill's (required above)

    existing = (
        await session.execute(
            select(InternetPayment).where(
                InternetPayment.account_id == account_id, InternetPayment.idempotency_key == idempotency_key
            )
        )
    ).scalar_one_or_none()
    if existing is not None:
        same = (
            existing.personal_account_id == personal_account_id
            and existing.category == category
            and existing.amount == amount
            and existing.bill_id == bill_id
            and existing.return_url == return_url
        )
        if not same:
            raise OperationRefused("IDEMPOTENCY_KEY_REUSED")
        return _outcome(settings, existing, number, bill, now)

    ledger = (await ledgers_load(session=session, personal_account_ids=[personal_account_id], today=settings.today()))[
        personal_account_id
    ]
    if bill is not None:
        if ledger.allocation.due.get(bill.id, Decimal(0)) <= 0:
            raise OperationRefused("NOTHING_TO_PAY")
    elif ledger.allocation.debt[category] <= 0:
        raise OperationRefused("NOTHING_TO_PAY")

    in_progress = (
        await session.execute(
            select(InternetPayment)
            .where(
                InternetPayment.personal_account_id == personal_account_id,
                InternetPayment.category == category,
                InternetPayment.status.in_(OPEN),
                InternetPayment.expires_at > now,
            )
            .order_by(InternetPayment.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if in_progress is not None:
        # A closed bank tab or a lost answer: the same payment again, whatever the key.
        if in_progress.account_id == account_id and in_progress.bill_id == bill_id:
            return _outcome(settings, in_progress, number, bill, now, resumed=True)
        wait = max(1, math.ceil((in_progress.expires_at - now).total_seconds()))
        raise PaymentInProgress(payment_id=in_progress.id, retry_after=wait)

    payment = InternetPayment(
        personal_account_id=personal_account_id,
        account_id=account_id,
        amount=amount,
        category=category,
        bill_id=bill_id,
        status=S.CREATED,
        created_at=now,
        expires_at=now + settings.payment_ttl,
        idempotency_key=idempotency_key,
        return_url=return_url,
    )
    session.add(payment)
    await session.flush()
    await payment_notify(session=session, payment_id=payment.id)
    return _outcome(settings, payment, number, bill, now)


def _outcome(
    settings: Settings,
    payment: InternetPayment,
    number: str,
    bill: Bill | None,
    now: dt.datetime,
    *,
    resumed: bool = False,
) -> StartOutcome:
    if payment.status in FINAL or payment.expires_at <= now:
        return StartOutcome(payment.id, None, resumed)
    form = checkout_form(
        settings=settings,
        payment=payment,
        personal_account_number=number,
        bill_number=bill.number if bill is not None else None,
    )
    return StartOutcome(payment.id, form, resumed)


async def payment_cancel(*, session: AsyncSession, payment_id: int, account_id: int) -> int:
    """End a payment the bank has not begun (CREATED), so its category can be paid afresh.

    It ends as EXPIRED, keeping its time: the bank's page stays open until then, and should the
    person still pay there, the success credits as after any expiry (reconciliation keeps asking
    until that time). A PENDING payment the bank may still charge, and a processed one, stay.
    One that is over already (FAILED, EXPIRED) is answered as it is: a retry finds it ended.
    """
    owner = (
        await session.execute(select(InternetPayment.personal_account_id).where(InternetPayment.id == payment_id))
    ).scalar_one_or_none()
    if owner is None:
        raise NotFound(("id",))
    # The personal account's lock first, as paymentStart takes it: a start never resumes a
    # payment that is being ended.
    await session.execute(select(PersonalAccount.id).where(PersonalAccount.id == owner).with_for_update())
    payment = (
        await session.execute(select(InternetPayment).where(InternetPayment.id == payment_id).with_for_update())
    ).scalar_one()
    if payment.status == S.CREATED:
        payment.status = S.EXPIRED
        audit_record(session=session, account_id=account_id, action="internet_payment_cancelled", number=payment.number)
        await payment_notify(session=session, payment_id=payment.id)
    elif payment.status not in (S.FAILED, S.EXPIRED):
        raise OperationRefused("PAYMENT_NOT_CANCELLABLE")
    return payment.id


async def payment_notify(*, session: AsyncSession, payment_id: int) -> None:
    """Tell live subscribers (in any process) after commit, through PostgreSQL."""
    await session.execute(
        text("SELECT pg_notify(:channel, :payload)"), {"channel": NOTIFY_CHANNEL, "payload": str(payment_id)}
    )


@dataclass(frozen=True, slots=True)
class BankVerdict:
    """What one verified bank message did."""

    changed: bool
    outcome: str


def _bank_time(params: dict, key: str) -> dt.datetime | None:
    """LiqPay gives times as milliseconds since the epoch."""
    value = params.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return dt.datetime.fromtimestamp(value / 1000, dt.UTC)
    return None


async def bank_status_apply(
    *, session: AsyncSession, settings: Settings, payment: InternetPayment, params: dict, now: dt.datetime
) -> BankVerdict:
    """Move a (locked) payment by the bank's verified status; idempotent."""
    status = str(params.get("status", ""))
    success = status in BANK_SUCCESS or (status == "sandbox" and settings.sandbox_bank)
    if success:
        if payment.status in (S.PROCESSED, S.REVERSED):
            return BankVerdict(False, "duplicate success")
        late = payment.status in (S.FAILED, S.EXPIRED)
        payment.status = S.PROCESSED
        confirmed_at = _bank_time(params, "end_date") or now
        payment.confirmed_at = confirmed_at
        payment.bank_payment_id = str(params.get("payment_id") or "") or None
        await _credit(session=session, settings=settings, payment=payment, confirmed_at=confirmed_at)
        await payment_notify(session=session, payment_id=payment.id)
        return BankVerdict(True, "credited after " + ("a final state" if late else "start"))
    if status in BANK_REVERSED:
        if payment.status != S.PROCESSED:
            return BankVerdict(False, f"reversal ignored in {payment.status}")
        payment.status = S.REVERSED
        await _reverse(session=session, settings=settings, payment=payment, now=now)
        await payment_notify(session=session, payment_id=payment.id)
        return BankVerdict(True, "reversed")
    if status in BANK_FAILURE:
        if payment.status not in OPEN:
            return BankVerdict(False, f"failure ignored in {payment.status}")
        payment.status = S.FAILED
        await payment_notify(session=session, payment_id=payment.id)
        return BankVerdict(True, "failed")
    if status in BANK_WAITING:
        if payment.status != S.CREATED:
            return BankVerdict(False, f"waiting ignored in {payment.status}")
        payment.status = S.PENDING
        await payment_notify(session=session, payment_id=payment.id)
        return BankVerdict(True, "pending")
    return BankVerdict(False, f"unknown bank status {status!r}")


async def _credit(
    *, session: AsyncSession, settings: Settings, payment: InternetPayment, confirmed_at: dt.datetime
) -> None:
    """Exactly one Payment per confirmed card payment (a unique index backs this)."""
    inserted = (
        await session.execute(
            insert(Payment)
            .values(
                personal_account_id=payment.personal_account_id,
                paid_on=kyiv_date_until(confirmed_at, settings.today()),
                amount=payment.amount,
                category=payment.category,
                channel=PaymentChannel.INTERNET,
                bill_id=payment.bill_id,
                internet_payment_id=payment.id,
            )
            .on_conflict_do_nothing(
                index_elements=[Payment.internet_payment_id],
                index_where=text("reverses_payment_id IS NULL"),
            )
            .returning(Payment.id)
        )
    ).scalar_one_or_none()
    if inserted is not None and payment.account_id is not None:
        account = (await session.execute(select(Account).where(Account.id == payment.account_id))).scalar_one()
        number = (
            await session.execute(
                select(PersonalAccount.number).where(PersonalAccount.id == payment.personal_account_id)
            )
        ).scalar_one()
        await mail_enqueue(
            session=session,
            kind="payment_processed",
            to=account.email,
            language=account.language,
            account_id=account.id,
            full_name=account.full_name,
            personal_account_number=number,
            payment_number=str(payment.number),
            amount=payment.amount,
            category=payment.category.value,
            confirmed_at=confirmed_at,
            link=f"{settings.frontend_root}/",
        )


async def _reverse(*, session: AsyncSession, settings: Settings, payment: InternetPayment, now: dt.datetime) -> None:
    credit = (
        await session.execute(
            select(Payment).where(Payment.internet_payment_id == payment.id, Payment.reverses_payment_id.is_(None))
        )
    ).scalar_one_or_none()
    if credit is None:
        return
    session.add(
        Payment(
            personal_account_id=credit.personal_account_id,
            paid_on=kyiv_date_until(now, settings.today()),
            amount=-credit.amount,
            category=credit.category,
            channel=credit.channel,
            bill_id=credit.bill_id,
            internet_payment_id=payment.id,
            reverses_payment_id=credit.id,
        )
    )


async def payment_by_order(*, session: AsyncSession, order: object) -> InternetPayment | None:
    """The payment an order id names, locked for the state change."""
    if not isinstance(order, str) or not order.startswith("uens-") or not order[5:].isdigit() or len(order) > 30:
        return None
    return (
        await session.execute(select(InternetPayment).where(InternetPayment.number == int(order[5:])).with_for_update())
    ).scalar_one_or_none()


async def payment_expire(*, session: AsyncSession, payment: InternetPayment, now: dt.datetime) -> bool:
    """An open payment past its time, with no success from the bank, expires."""
    if payment.status in OPEN and payment.expires_at <= now:
        payment.status = S.EXPIRED
        await payment_notify(session=session, payment_id=payment.id)
        return True
    return False
