"""The bank's server-to-server callback: verify, check against what we stored, keep, apply.

Every callback is kept, genuine or not. A forged or altered one gets a 4xx and
changes nothing; a verified duplicate gets 200 and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import BankCallback
from payments.liqpay import SignatureInvalid, pair_verify
from services.card_payments import bank_status_apply, liqpay_keys, payment_by_order


@dataclass(frozen=True, slots=True)
class CallbackResult:
    http_status: int
    outcome: str


def _amount(value: object) -> Decimal | None:
    """The callback's amount exactly as sent (a JSON number or string), or None.

    Never rounded: 10.004 must not match an order of 10.00."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


async def callback_receive(
    *, session: AsyncSession, settings: Settings, data: str, signature: str, now: dt.datetime
) -> CallbackResult:
    record = BankCallback(data=data[:100_000], signature=signature[:200], verified=False, outcome="", received_at=now)
    session.add(record)
    try:
        params = pair_verify(liqpay_keys(settings), data, signature)
    except SignatureInvalid as e:
        record.outcome = f"refused: {e}"
        return CallbackResult(400, record.outcome)
    record.verified = True
    record.bank_status = str(params.get("status", ""))[:32]
    payment = await payment_by_order(session=session, order=params.get("order_id"))
    if payment is None:
        record.outcome = "refused: unknown order"
        return CallbackResult(404, record.outcome)
    record.internet_payment_id = payment.id
    record.personal_account_id = payment.personal_account_id
    if params.get("public_key") not in (None, settings.liqpay_public_key):
        record.outcome = "refused: another merchant"
        return CallbackResult(400, record.outcome)
    if _amount(params.get("amount")) != payment.amount or params.get("currency") != "UAH":
        record.outcome = "refused: amount or currency differs from the order"
        return CallbackResult(400, record.outcome)
    verdict = await bank_status_apply(session=session, settings=settings, payment=payment, params=params, now=now)
    record.outcome = verdict.outcome
    return CallbackResult(200, record.outcome)
