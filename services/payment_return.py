"""The bank's way back: result_url carries a signed, short-lived reference to the payment, so
the return page can show that payment's real state to a browser with no token.

The reference is signed like document links (services/documents.py) under its own kind, and
its expiry follows from the stored payment (its time plus a grace), so the checkout form built
again for the same payment is the very same form.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from config import Settings
from models import InternetPayment
from models.base import InternetPaymentStatus
from services.documents import MAX_ID, link_signature, link_signed_expiry

RETURN_KIND = "payment-return"
# 3-D Secure and slow banks send people back late; the page stays readable a while after.
RETURN_GRACE = dt.timedelta(hours=1)


def return_link_expiry(payment_expires_at: dt.datetime) -> int:
    return math.ceil((payment_expires_at + RETURN_GRACE).timestamp())


def payment_return_url(*, settings: Settings, payment_id: int, payment_expires_at: dt.datetime) -> str:
    expires = return_link_expiry(payment_expires_at)
    signature = link_signature(settings, RETURN_KIND, payment_id, expires)
    return f"{settings.payment_result_url}?{urlencode({'payment': payment_id, 'expires': expires, 'sig': signature})}"


def payment_return_reference(
    *, settings: Settings, payment: str | None, expires: str | None, sig: str | None, now: dt.datetime
) -> int | None:
    """The payment a return link names, when the signature is ours and the link is current:
    not expired, and not further ahead than a payment started now would get."""
    if not payment or len(payment) > 19 or not payment.isascii() or not payment.isdigit() or int(payment) > MAX_ID:
        return None
    pk = int(payment)
    signed = link_signed_expiry(settings, RETURN_KIND, pk, expires, sig)
    furthest = return_link_expiry(now + settings.payment_ttl)
    if signed is None or not now.timestamp() < signed <= furthest:
        return None
    return pk


@dataclass(frozen=True, slots=True)
class ReturnState:
    """What the return page says about a payment."""

    number: int
    amount: Decimal
    status: InternetPaymentStatus
    confirmed_at: dt.datetime | None


async def payment_return_state(*, session: AsyncSession, payment_id: int) -> ReturnState | None:
    row = (
        await session.execute(
            select(
                InternetPayment.number, InternetPayment.amount, InternetPayment.status, InternetPayment.confirmed_at
            ).where(InternetPayment.id == payment_id)
        )
    ).first()
    if row is None:
        return None
    return ReturnState(number=row.number, amount=row.amount, status=row.status, confirmed_at=row.confirmed_at)
