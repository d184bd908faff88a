"""Payment aggregators: debt lookup, posting payments, and their registry.

An aggregator (a payment terminal network, a bank's app) finds a personal
account by (RES, number), shows the holder as surname and initials with the
debt, and posts the money it took. A post is idempotent by (client,
transactionId): the same data again is a duplicate that changes nothing,
other data under the same id is refused. Each new post is exactly one
Payment (channel AGGREGATOR), written in the same transaction under a lock on
the personal account, so the debt the customer sees drops at once.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, literal, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from db import Seen
from kyiv import KYIV, kyiv_date
from models import AggregatorPayment, Payment, PersonalAccount, Res
from models.base import ChargeCategory, PaymentChannel
from money import kopecks, whole_kopecks
from services.account_records import debt_column, debt_of
from services.errors import BadUserInput, OperationRefused, Problems
from services.pagination import Page, cursor_decode, first_check
from services.periods import Period

RES_CODE = re.compile(r"[0-9A-Za-z_-]{1,16}")
ACCOUNT_NUMBER = re.compile(r"[0-9A-Za-z/_-]{1,32}")
TRANSACTION_ID_MAX = 64
# Clocks differ: a paidAt this far ahead of ours is still accepted.
PAID_AT_LEEWAY = dt.timedelta(minutes=5)
# Older than this is a typo, not a late post (and keeps dates in range).
PAID_AT_EARLIEST = dt.datetime(2000, 1, 1, tzinfo=KYIV)


# ---------------------------------------------------------------- holder name


def holder_initials(full_name: str) -> str:
    """«Лысенко Александра Афанасьевна» → «Лысенко А. А.»: the surname and the initials of the rest.

    Extra spaces are ignored; a one-word name stays as it is; a hyphenated
    given name keeps its hyphen («Анна-Марія» → «А.-М.»).
    """
    words = (full_name or "").split()
    if not words:
        return ""
    initials = [_initial(word) for word in words[1:]]
    return " ".join([words[0], *(i for i in initials if i)])


def _initial(word: str) -> str:
    parts = [p for p in word.split("-") if p]
    letters = [next((c for c in p if c.isalpha()), "") for p in parts]
    return "-".join(f"{c.upper()}." for c in letters if c)


# ---------------------------------------------------------------- lookup


@dataclass(frozen=True, slots=True)
class DebtLookupData:
    res_code: str
    personal_account_number: str
    holder_name: str
    debt: dict[ChargeCategory, Decimal]  # every category, as the customer's screen shows it


@dataclass(frozen=True, slots=True)
class _Target:
    personal_account_id: int
    res_code: str
    number: str
    holder_name: str


# The RES by its code and, in it, the personal account by its number (none when the number is
# NULL): one statement tells which part is wrong. The debt lookup adds the account's debt (as
# sums, the same figures as the ledger's allocation) and runs on asyncpg itself (its parameters
# numbered), as the API key's check before it.
_TARGET_SQL = """
SELECT r.id AS res_id, p.id, p.holder_name{columns}
FROM res r LEFT JOIN personal_account p ON p.res_id = r.id AND p.number = {number}
WHERE r.code = {code}"""
_TARGET = text(_TARGET_SQL.format(columns="", code=":code", number=":number"))
_LOOKUP_SQL = _TARGET_SQL.format(columns=", " + debt_column("$3::date"), code="$1", number="$2")


def _code_check(value: str, path: tuple[str, ...], pattern: re.Pattern, limit: int, problems: Problems) -> str | None:
    text = (value or "").strip()
    if not text:
        problems.add(path, "REQUIRED")
    elif len(text) > limit:
        problems.add(path, "TOO_LONG", max=limit)
    elif not pattern.fullmatch(text):
        problems.add(path, "INVALID_FORMAT")
    else:
        return text
    return None


class _Wanted:
    """A (RES, number) pair as given, checked: each part's text, or a problem on its path."""

    def __init__(self, res_code: str, number: str, prefix: tuple[str, ...], problems: Problems) -> None:
        self.res_path, self.number_path = (*prefix, "resCode"), (*prefix, "personalAccountNumber")
        self.problems = problems
        self.code = _code_check(res_code, self.res_path, RES_CODE, 16, problems)
        self.number = _code_check(number, self.number_path, ACCOUNT_NUMBER, 32, problems)

    def found(self, row) -> _Target | None:
        """The target from the statement's row (res_id, id, holder_name, …), or the problem."""
        if row is None:
            self.problems.add(self.res_path, "UNKNOWN_RES")
            return None
        if self.number is None:
            return None
        if row[1] is None:
            self.problems.add(self.number_path, "PERSONAL_ACCOUNT_NOT_FOUND")
            return None
        assert self.code is not None
        return _Target(row[1], self.code, self.number, row[2])


async def _target_find(
    session: AsyncSession, *, res_code: str, number: str, prefix: tuple[str, ...], problems: Problems
) -> _Target | None:
    """The personal account (RES, number), or a problem on whichever part is wrong."""
    wanted = _Wanted(res_code, number, prefix, problems)
    if wanted.code is None:
        return None
    row = (await session.execute(_TARGET, {"code": wanted.code, "number": wanted.number})).first()
    return wanted.found(row)


async def debt_lookup(
    *, connection: Any, res_code: str, personal_account_number: str, today: dt.date, seen: Seen = None
) -> DebtLookupData:
    """The debt of one personal account, the same the customer's screen shows: one statement on
    asyncpg itself (`connection`), which tells `seen` what it runs."""
    problems = Problems()
    wanted = _Wanted(res_code, personal_account_number, (), problems)
    row = target = None
    if wanted.code is not None:
        params = (wanted.code, wanted.number, today)
        if seen is not None:
            seen(_LOOKUP_SQL, params)
        row = await connection.fetchrow(_LOOKUP_SQL, *params)
        target = wanted.found(row)
    problems.raise_if_any()
    assert target is not None and row is not None
    return DebtLookupData(
        res_code=target.res_code,
        personal_account_number=target.number,
        holder_name=holder_initials(target.holder_name),
        debt=debt_of(row[3]),
    )


# ---------------------------------------------------------------- posting


@dataclass(frozen=True, slots=True)
class AggregatorPaymentView:
    """A post as its aggregator sees it: no customer data."""

    id: int
    transaction_id: str
    res_code: str
    personal_account_number: str
    category: ChargeCategory
    amount: Decimal
    paid_at: dt.datetime
    posted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class PostOutcome:
    payment: AggregatorPaymentView
    duplicate: bool


def amount_valid(amount: Decimal, maximum: Decimal) -> bool:
    """Above zero, whole kopecks, at most `maximum`."""
    return whole_kopecks(amount) and 0 < amount <= maximum


def _transaction_id_check(value: str, problems: Problems) -> None:
    path = ("input", "transactionId")
    if not value or not value.strip():
        problems.add(path, "REQUIRED")
    elif len(value) > TRANSACTION_ID_MAX:
        problems.add(path, "TOO_LONG", max=TRANSACTION_ID_MAX)
    elif not value.isprintable():
        problems.add(path, "INVALID_FORMAT")


def _paid_at_check(paid_at: dt.datetime, now: dt.datetime, problems: Problems) -> None:
    if paid_at.tzinfo is None or paid_at.utcoffset() is None:
        problems.add(("input", "paidAt"), "INVALID_FORMAT")
    elif paid_at > now + PAID_AT_LEEWAY or paid_at < PAID_AT_EARLIEST:
        problems.add(("input", "paidAt"), "INVALID_INPUT")


async def aggregator_payment_post(
    *,
    session: AsyncSession,
    api_client_id: int,
    res_code: str,
    personal_account_number: str,
    category: ChargeCategory,
    amount: Decimal,
    transaction_id: str,
    paid_at: dt.datetime,
    now: dt.datetime,
    max_amount: Decimal,
) -> PostOutcome:
    """Record a payment the aggregator took; a replay of the same post is a duplicate."""
    problems = Problems()
    if not amount_valid(amount, max_amount):
        problems.add(("input", "amount"), "AMOUNT_INVALID", max=f"{max_amount:.2f}")
    _transaction_id_check(transaction_id, problems)
    _paid_at_check(paid_at, now, problems)
    target = await _target_find(
        session, res_code=res_code, number=personal_account_number, prefix=("input",), problems=problems
    )
    problems.raise_if_any()
    assert target is not None
    wanted = (target.personal_account_id, category, amount, paid_at)

    # A replay needs no lock: the first post is there, committed, to compare with.
    existing = await _existing(session, api_client_id, transaction_id)
    if existing is None:
        # Posts to one personal account take turns, as every mutation that changes its money.
        await session.execute(
            select(PersonalAccount.id).where(PersonalAccount.id == target.personal_account_id).with_for_update()
        )
        created = (
            await session.execute(
                pg_insert(AggregatorPayment)
                .values(
                    api_client_id=api_client_id,
                    transaction_id=transaction_id,
                    personal_account_id=target.personal_account_id,
                    category=category,
                    amount=amount,
                    paid_at=paid_at,
                )
                # A concurrent post of the same id waits here for the first to commit, then does nothing.
                .on_conflict_do_nothing(
                    index_elements=[AggregatorPayment.api_client_id, AggregatorPayment.transaction_id]
                )
                .returning(AggregatorPayment.id)
            )
        ).scalar_one_or_none()
        if created is not None:
            await session.execute(
                insert(Payment).values(
                    personal_account_id=target.personal_account_id,
                    paid_on=kyiv_date(paid_at),
                    amount=amount,
                    category=category,
                    channel=PaymentChannel.AGGREGATOR,
                    aggregator_payment_id=created,
                )
            )
            view = await _view(session, AggregatorPayment.id == created)
            assert view is not None
            return PostOutcome(payment=view, duplicate=False)
        existing = await _existing(session, api_client_id, transaction_id)
        assert existing is not None, "the conflicting post is committed"

    stored, view = existing
    if stored != wanted:
        raise OperationRefused("IDEMPOTENCY_KEY_REUSED")
    return PostOutcome(payment=view, duplicate=True)


_VIEW_COLUMNS = (
    AggregatorPayment.id,
    AggregatorPayment.transaction_id,
    Res.code.label("res_code"),
    PersonalAccount.number.label("personal_account_number"),
    AggregatorPayment.category,
    AggregatorPayment.amount,
    AggregatorPayment.paid_at,
    AggregatorPayment.posted_at,
)


def _view_select():
    return (
        select(*_VIEW_COLUMNS)
        .join(PersonalAccount, PersonalAccount.id == AggregatorPayment.personal_account_id)
        .join(Res, Res.id == PersonalAccount.res_id)
    )


async def _existing(
    session: AsyncSession, api_client_id: int, transaction_id: str
) -> tuple[tuple, AggregatorPaymentView] | None:
    """The client's post under this id: what it was for, and how it is shown."""
    row = (
        await session.execute(
            _view_select()
            .add_columns(AggregatorPayment.personal_account_id)
            .where(
                AggregatorPayment.api_client_id == api_client_id,
                AggregatorPayment.transaction_id == transaction_id,
            )
        )
    ).first()
    if row is None:
        return None
    # Same money (100 and 100.00), same instant (whatever offset it was written with).
    return (row.personal_account_id, row.category, row.amount, row.paid_at), _view_of(row)


def _view_of(row) -> AggregatorPaymentView:
    return AggregatorPaymentView(
        id=row.id,
        transaction_id=row.transaction_id,
        res_code=row.res_code,
        personal_account_number=row.personal_account_number,
        category=row.category,
        amount=row.amount,
        paid_at=row.paid_at,
        posted_at=row.posted_at,
    )


async def _view(session: AsyncSession, condition) -> AggregatorPaymentView | None:
    row = (await session.execute(_view_select().where(condition))).first()
    return _view_of(row) if row is not None else None


# ---------------------------------------------------------------- registry


@dataclass(frozen=True, slots=True)
class Registry:
    """One page of a client's posts in a period, with the period's count and sum."""

    page: Page[AggregatorPaymentView]
    period: Period
    total_count: int
    total_amount: Decimal


def _kyiv_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=KYIV)


def _cursor_parse(after: str) -> tuple[dt.datetime, int]:
    moment, sep, pk = cursor_decode(after).partition("|")
    try:
        parsed, number = dt.datetime.fromisoformat(moment), int(pk)
        # Ours always name a real row: an offset, a year in range, a bigint id.
        if not sep or parsed.tzinfo is None or not 1 < parsed.year < 9999 or not 0 < number < 2**63:
            raise ValueError(after)
        return parsed, number
    except (ValueError, OverflowError) as e:
        raise BadUserInput("invalid cursor") from e


async def aggregator_payments_registry(
    *,
    session: AsyncSession,
    api_client_id: int,
    period: Period,
    first: int | None,
    after: str | None,
) -> Registry:
    """The client's own posts whose paidAt falls in the period (Kyiv dates), newest first.

    Paged in SQL by (paidAt, id), so a busy aggregator's year costs one page,
    not the whole year; the count and the sum come from one aggregate.
    """
    limit = first_check(first)
    position = _cursor_parse(after) if after is not None else None
    # Dates far outside any payment's range would overflow the conversion to UTC.
    start = max(period.start, PAID_AT_EARLIEST.date())
    end = min(period.end, dt.date(9998, 12, 31))
    in_period = (
        AggregatorPayment.api_client_id == api_client_id,
        AggregatorPayment.paid_at >= _kyiv_day_start(start),
        AggregatorPayment.paid_at < _kyiv_day_start(end + dt.timedelta(days=1)),
    )
    key = tuple_(AggregatorPayment.paid_at, AggregatorPayment.id)
    newer = key > tuple_(*position) if position is not None else None
    totals = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(AggregatorPayment.amount), Decimal("0.00")),
                func.count().filter(newer) if newer is not None else literal(0),
            ).where(*in_period)
        )
    ).one()
    query = _view_select().where(*in_period)
    if position is not None:
        query = query.where(key < tuple_(*position))
    rows = (
        await session.execute(
            query.order_by(AggregatorPayment.paid_at.desc(), AggregatorPayment.id.desc()).limit(limit + 1)
        )
    ).all()
    views = [_view_of(r) for r in rows[:limit]]
    page = Page(
        rows=views,
        key=lambda v: (v.paid_at, v.id),
        has_next=len(rows) > limit,
        has_previous=totals[2] > 0,
    )
    return Registry(page=page, period=period, total_count=totals[0], total_amount=kopecks(Decimal(totals[1])))
