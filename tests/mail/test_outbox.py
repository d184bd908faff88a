"""The mail outbox against a real SMTP server (aiosmtpd) and a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import logging
import socket
import string
import time
from collections import Counter
from decimal import Decimal
from email import policy
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, select

from db import Database, create_engine
from mail.outbox import mail_enqueue, outbox_backlog
from mail.sender import (
    FolderTransport,
    Mail,
    SmtpTransport,
    mail_message,
    retry_delay,
    transport_for,
)
from mail.templates import PARAMS, TEMPLATES, mail_render
from models import Account
from models.base import AccountStatus, OutboxStatus
from models.outbox import OutboxMessage
from workers.outbox import outbox_deliver_due, outbox_worker

LINK = "https://cabinet.test/password-reset?token=Zx9"
SAMPLE = {
    "full_name": "Лисенко Олександра Опанасівна",
    "login": "lysenko",
    "res_name": "Центральний РЕМ",
    "personal_account_number": "13942531",
    "reason": "Номер лічильника не збігається",
    "email": "olena@example.com",
    "public_url": "https://cabinet.test",
    "requester_login": "petrenko",
    "link": LINK,
    "new_email": "new@example.com",
    "bill_number": "77001",
    "amount": Decimal("97.51"),
    "due_on": dt.date(2014, 6, 20),
    "payment_number": "P-501",
    "category": "ELECTRICITY",
    # 09:03 UTC is 12:03 in Kyiv (summer time).
    "confirmed_at": dt.datetime(2014, 5, 26, 9, 3, tzinfo=dt.UTC),
}


# --- a real SMTP server -------------------------------------------------------------------


class Sink:
    """An aiosmtpd handler that keeps what it accepts; refuses bounce@ recipients."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.delay = 0.0
        self.port = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("bounce@"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)  # a slow server widens any race between workers
        self.envelopes.append(envelope)
        return "250 2.0.0 Accepted"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages()]


def closed_port() -> int:
    """A port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp():
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=closed_port())
    controller.start()
    sink.port = controller.port
    yield sink
    controller.stop()


@pytest.fixture
def smtp_settings(settings, smtp):
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp.port, "mail_retry_base": dt.timedelta(0)}
    )


@pytest.fixture
def down_settings(settings):
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": closed_port(),
            "smtp_timeout": 2.0,
            "mail_retry_base": dt.timedelta(seconds=30),
        }
    )


# --- helpers --------------------------------------------------------------------------------


async def enqueue(db, *, to="olena@example.com", language="uk", account_id=None, **params):
    async with db.transaction() as session:
        message = await mail_enqueue(
            session=session,
            kind="password_reset",
            to=to,
            language=language,
            account_id=account_id,
            **({"full_name": SAMPLE["full_name"], "login": "lysenko", "link": LINK} | params),
        )
    return message


async def deliver(db, settings, *, now=None, transport=None):
    return await outbox_deliver_due(db=db, settings=settings, transport=transport or transport_for(settings), now=now)


async def rows(db) -> list[OutboxMessage]:
    async with db.sessions() as session:
        result = await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))
        return list(result.scalars())


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the transactional outbox -----------------------------------------------------------------


async def test_committed_letter_arrives_with_utf8_cyrillic_body(db, smtp, smtp_settings):
    queued = await enqueue(db, to="olena@example.com")

    assert await deliver(db, smtp_settings) == 1

    [envelope] = smtp.envelopes
    assert envelope.rcpt_tos == ["olena@example.com"]
    [received] = smtp.messages()
    assert received["To"] == "olena@example.com"
    assert received["Subject"] == "Відновлення пароля"
    assert received["From"] == smtp_settings.mail_from
    assert received["Message-ID"].startswith(f"<outbox-{queued.id}.")
    assert received.get_content_charset() == "utf-8"
    body = received.get_content()
    assert "Доброго дня, Лисенко Олександра Опанасівна!" in body
    assert LINK in body
    assert "Персональний кабінет UENS" in body
    [row] = await rows(db)
    assert (row.status, row.attempts, row.last_error) == (OutboxStatus.SENT, 1, None)
    assert row.sent_at is not None
    # Sent letters are not sent again.
    assert await deliver(db, smtp_settings) == 0
    assert len(smtp.envelopes) == 1


async def test_rolled_back_letter_is_never_sent(db, smtp, smtp_settings):
    with pytest.raises(RuntimeError):
        async with db.transaction() as session:
            await mail_enqueue(
                session=session,
                kind="password_reset",
                to="olena@example.com",
                language="uk",
                account_id=None,
                full_name="Олена",
                login="olena",
                link=LINK,
            )
            await session.flush()  # the row reached the database, then its cause failed
            raise RuntimeError("the mutation failed")

    assert await deliver(db, smtp_settings) == 0
    assert smtp.envelopes == []
    assert await rows(db) == []


async def test_letter_is_rendered_when_queued_and_survives_its_login(db, smtp, smtp_settings):
    async with db.transaction() as session:
        account = Account(
            login="merged",
            full_name="Петренко Іван",
            email="ivan@example.com",
            password_hash="x",
            status=AccountStatus.ACTIVE,
        )
        session.add(account)
        await session.flush()
        await mail_enqueue(
            session=session,
            kind="email_changed_notice",
            to="ivan@example.com",
            language="ru",
            account_id=account.id,
            full_name=account.full_name,
            new_email="ivan@new.example",
        )
    # The login is merged away (deleted) before the worker runs.
    async with db.transaction() as session:
        await session.execute(delete(Account).where(Account.id == account.id))

    assert await deliver(db, smtp_settings) == 1
    [received] = smtp.messages()
    assert received["Subject"] == "Адрес электронной почты изменён"
    assert "Здравствуйте, Петренко Іван!" in received.get_content()
    [row] = await rows(db)
    assert row.account_id is None and row.language == "ru"


async def test_backlog_counts_pending_letters(db, smtp, smtp_settings):
    for to in ("a@example.com", "bounce@example.com", "b@example.com"):
        await enqueue(db, to=to)
    async with db.sessions() as session:
        assert await outbox_backlog(session=session) == 3

    await deliver(db, smtp_settings)

    async with db.sessions() as session:
        assert await outbox_backlog(session=session) == 1


# --- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_kind_renders_in_three_distinct_languages(kind):
    params = {name: SAMPLE[name] for name in PARAMS[kind]}
    letters = {language: mail_render(kind, language, **params) for language in ("uk", "ru", "en")}

    assert len({subject for subject, _ in letters.values()}) == 3
    assert len({body for _, body in letters.values()}) == 3
    for language, (subject, body) in letters.items():
        assert "{" not in subject + body, (kind, language)
        for name in ("link", "public_url", "login", "personal_account_number", "bill_number"):
            if name in params:
                assert str(params[name]) in body, (kind, language, name)
    assert "Персональний кабінет UENS" in letters["uk"][1]
    assert "Персональный кабинет UENS" in letters["ru"][1]
    assert "UENS Personal Cabinet" in letters["en"][1]


@pytest.mark.parametrize("kind", sorted(TEMPLATES))
def test_every_translation_uses_exactly_the_kinds_params(kind):
    # A translation that dropped the link (or used a param nobody passes) fails here.
    for language, (subject, body) in TEMPLATES[kind].items():
        fields = {name for _, name, _, _ in string.Formatter().parse(subject + body) if name}
        assert fields == set(PARAMS[kind]), (kind, language)


def test_money_dates_and_categories_are_formatted_per_language():
    params = {name: SAMPLE[name] for name in PARAMS["payment_processed"]}
    _, uk = mail_render("payment_processed", "uk", **params | {"amount": "97.5"})
    _, en = mail_render("payment_processed", "en", **params)
    _, ru = mail_render("bill_formed", "ru", **{n: SAMPLE[n] for n in PARAMS["bill_formed"]})

    assert "на суму 97.50 грн" in uk and "(електроенергія)" in uk and "26.05.2014 12:03" in uk
    assert "of 97.51 UAH" in en and "(electricity)" in en
    assert "на сумму 97.51 грн" in ru and "до 20.06.2014" in ru


def test_unknown_language_is_ukrainian_and_unknown_kind_or_missing_param_fails():
    params = {"full_name": "Олена", "login": "olena", "link": LINK}
    assert mail_render("password_reset", "de", **params) == mail_render("password_reset", "uk", **params)
    assert mail_render("password_reset", "", **params)[0] == "Відновлення пароля"
    with pytest.raises(KeyError):
        mail_render("no_such_kind", "uk", **params)
    with pytest.raises(KeyError, match="link"):
        mail_render("password_reset", "en", full_name="Olena", login="olena")


# --- SMTP down, retries and backoff -------------------------------------------------------------


async def test_smtp_down_loses_nothing_then_each_letter_arrives_once(db, settings, smtp, smtp_settings, down_settings):
    for n in range(20):
        await enqueue(db, to=f"user{n}@example.com")
    t0 = utcnow()

    assert await deliver(db, down_settings, now=t0) == 0
    first = await rows(db)
    assert len(first) == 20
    assert all(r.status == OutboxStatus.PENDING and r.attempts == 1 for r in first)
    assert all(r.last_error and r.next_attempt_at == t0 + dt.timedelta(seconds=30) for r in first)

    # Not due yet: nobody is tried.
    assert await deliver(db, down_settings, now=t0 + dt.timedelta(seconds=29)) == 0
    assert all(r.attempts == 1 for r in await rows(db))

    t1 = t0 + dt.timedelta(seconds=30)
    assert await deliver(db, down_settings, now=t1) == 0
    second = await rows(db)
    assert all(r.attempts == 2 and r.next_attempt_at == t1 + dt.timedelta(seconds=60) for r in second)
    assert smtp.envelopes == []

    # The server is back; two workers with their own connections run at once.
    smtp.delay = 0.02
    other = Database(create_engine(settings.database_url, settings))
    try:
        counts = await asyncio.gather(
            deliver(db, smtp_settings, now=t1 + dt.timedelta(minutes=2), transport=SmtpTransport(smtp_settings)),
            deliver(other, smtp_settings, now=t1 + dt.timedelta(minutes=2), transport=SmtpTransport(smtp_settings)),
        )
    finally:
        await other.dispose()

    assert sum(counts) == 20
    assert min(counts) > 0, counts  # both really worked, side by side
    ids = smtp.message_ids()
    assert len(ids) == 20 and len(set(ids)) == 20, Counter(ids).most_common(3)
    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == sorted(f"user{n}@example.com" for n in range(20))
    assert all(r.status == OutboxStatus.SENT and r.attempts == 3 for r in await rows(db))


async def test_one_refused_letter_does_not_stop_the_others(db, smtp, smtp_settings):
    await enqueue(db, to="a@example.com")
    await enqueue(db, to="bounce@example.com")
    await enqueue(db, to="b@example.com")

    assert await deliver(db, smtp_settings) == 2

    assert sorted(e.rcpt_tos[0] for e in smtp.envelopes) == ["a@example.com", "b@example.com"]
    refused = [r for r in await rows(db) if r.to_address == "bounce@example.com"][0]
    assert refused.status == OutboxStatus.PENDING and refused.attempts == 1
    assert "550" in refused.last_error


async def test_letter_is_dead_after_max_attempts_and_not_tried_again(db, smtp, smtp_settings, down_settings):
    down = down_settings.model_copy(update={"mail_max_attempts": 3, "mail_retry_base": dt.timedelta(0)})
    await enqueue(db)

    for attempt in (1, 2):
        assert await deliver(db, down) == 0
        [row] = await rows(db)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, attempt)
    assert await deliver(db, down) == 0
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 3)

    up = smtp_settings.model_copy(update={"mail_max_attempts": 3})
    assert await deliver(db, up, now=utcnow() + dt.timedelta(days=1)) == 0
    assert smtp.envelopes == []
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.DEAD, 3)


def test_retry_delay_doubles_and_is_capped(settings):
    base = settings.model_copy(update={"mail_retry_base": dt.timedelta(seconds=30)})
    delays = [retry_delay(attempts=n, settings=base) for n in (1, 2, 3, 4)]
    assert delays == [dt.timedelta(seconds=s) for s in (30, 60, 120, 240)]
    assert retry_delay(attempts=200, settings=base) == dt.timedelta(hours=6)


class ProcessDied(BaseException):
    """Stands for the process dying: nothing after it runs, no handler catches it."""


class DiesAfterSending:
    def __init__(self, inner) -> None:
        self.inner = inner

    async def send(self, mail: Mail) -> None:
        await self.inner.send(mail)
        raise ProcessDied

    async def close(self) -> None:
        await self.inner.close()


async def test_death_between_acceptance_and_commit_resends_with_the_same_message_id(db, smtp, smtp_settings):
    await enqueue(db)

    with pytest.raises(ProcessDied):
        await deliver(db, smtp_settings, transport=DiesAfterSending(SmtpTransport(smtp_settings)))
    [row] = await rows(db)
    assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)  # the claim rolled back

    assert await deliver(db, smtp_settings) == 1
    first, second = smtp.message_ids()
    assert first == second  # the duplicate is recognisable


def test_message_id_is_stable_per_row():
    mail = Mail(id=7, to="a@example.com", subject="Тема", body="Текст", created_at=utcnow())
    one = mail_message(mail, mail_from="UENS <no-reply@uens.example>")
    two = mail_message(mail, mail_from="UENS <no-reply@uens.example>")
    assert one["Message-ID"] == two["Message-ID"]
    assert one["Message-ID"].startswith("<outbox-7.") and one["Message-ID"].endswith("@uens.example>")


# --- the folder transport and the worker ------------------------------------------------------


async def test_folder_transport_writes_eml_files_the_email_package_reads(db, settings):
    assert isinstance(transport_for(settings), FolderTransport)  # no smtp_host: files
    queued = await enqueue(db, to="olena@example.com", language="ru")

    assert await deliver(db, settings) == 1

    files = sorted(settings.mail_dir.iterdir())
    assert [f.name for f in files] == [f"{queued.id}.eml"]
    with files[0].open("rb") as handle:
        letter = email.message_from_binary_file(handle, policy=policy.default)
    assert letter["To"] == "olena@example.com"
    assert letter["Subject"] == "Восстановление пароля"
    assert "Здравствуйте, Лисенко Олександра Опанасівна!" in letter.get_content()


async def test_worker_sends_and_stops_promptly(db, settings):
    worker_settings = settings.model_copy(update={"mail_poll_interval": 30.0})
    await enqueue(db)
    stop = asyncio.Event()
    task = asyncio.create_task(outbox_worker(db, worker_settings, stop))
    try:
        for _ in range(500):
            if any(settings.mail_dir.glob("*.eml")):
                break
            await asyncio.sleep(0.01)
        assert any(settings.mail_dir.glob("*.eml")), "the worker sent nothing"
        await asyncio.sleep(0.05)  # now in its 30 s pause
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=2)
    finally:
        task.cancel()
    assert time.monotonic() - started < 1.0
    assert task.exception() is None


async def test_worker_survives_failing_rounds(settings, caplog):
    # A database that does not exist: every round fails on connect.
    parts = urlsplit(settings.database_url)
    missing_url = urlunsplit(parts._replace(path="/cabinet_missing_db"))
    broken = Database(create_engine(missing_url, settings))
    worker_settings = settings.model_copy(update={"mail_poll_interval": 0.01})
    stop = asyncio.Event()
    caplog.set_level(logging.ERROR, logger="cabinet.mail.sender")
    task = asyncio.create_task(outbox_worker(broken, worker_settings, stop))
    try:
        await asyncio.sleep(0.5)
        assert not task.done(), "the worker died"
        stop.set()
        await asyncio.wait_for(task, timeout=2)
    finally:
        task.cancel()
        await broken.dispose()
    failures = [r for r in caplog.records if "outbox round failed" in r.getMessage()]
    assert len(failures) >= 2
