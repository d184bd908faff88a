"""Account mail end to end: queued with its cause, in the person's language, delivered over real SMTP."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller

from mail.sender import transport_for
from models.base import OutboxStatus
from tests.accounts.account_helpers import (
    APPROVE,
    CONFIRM,
    METER,
    PASSWORD,
    REGISTER,
    RESET,
    RESET_REQUEST,
    UPDATE,
    active_login,
    admin_token,
    link_in,
    outbox,
    register,
    registration,
    sign_in,
)
from workers.outbox import outbox_deliver_due


class Inbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 2.0.0 Accepted"

    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def inbox():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


async def deliver(db, settings, inbox) -> int:
    smtp = settings.model_copy(update={"smtp_host": "127.0.0.1", "smtp_port": inbox.port})
    return await outbox_deliver_due(db=db, settings=smtp, transport=transport_for(smtp))


async def test_a_reset_link_travels_through_smtp_and_works(world, gql, db, settings, inbox):
    await active_login(gql, "holder")
    await gql(RESET_REQUEST, {"v": "holder@example.com"}, headers={"accept-language": "en-GB,en;q=0.9"})
    assert await deliver(db, settings, inbox) == 2  # the activation letter, then the reset link
    received = inbox.messages()
    assert [m["To"] for m in received] == ["holder@example.com", "holder@example.com"]
    reset = received[1]
    assert reset["Subject"] == "Resetting your password"
    body = reset.get_content()
    assert f"{settings.public_url}/password-reset#token=" in body
    token = link_in(body, "/password-reset")
    done = await gql(RESET, {"t": token, "p": "a brand new secret"})
    assert done["data"]["passwordReset"]["reset"] is True
    assert (await sign_in(gql, "holder", "a brand new secret"))["__typename"] == "TokenCreateSuccess"
    assert {m.status for m in await outbox(db)} == {OutboxStatus.SENT}


async def test_an_email_change_confirms_through_the_delivered_letter(world, gql, db, settings, inbox):
    token = await active_login(gql, "holder")
    await gql(
        UPDATE,
        {"input": {"email": "new@example.com", "currentPassword": PASSWORD}},
        token=token,
        headers={"accept-language": "ru"},
    )
    await deliver(db, settings, inbox)
    confirm = next(m for m in inbox.messages() if m["To"] == "new@example.com")
    assert confirm["Subject"] == "Подтвердите новый адрес электронной почты"
    done = await gql(
        CONFIRM, {"t": link_in(confirm.get_content(), "/email-confirm")}, headers={"accept-language": "ru"}
    )
    assert done["data"]["accountEmailConfirm"]["account"]["email"] == "new@example.com"
    await deliver(db, settings, inbox)
    notice = inbox.messages()[-1]
    assert (notice["To"], notice["Subject"]) == ("holder@example.com", "Адрес электронной почты изменён")
    assert "new@example.com" in notice.get_content()


@pytest.mark.parametrize(
    ("header", "language", "subject"),
    [
        (None, "uk", "Заявку на реєстрацію отримано"),
        ("ru", "ru", "Заявка на регистрацию получена"),
        ("en-US", "en", "We have received your registration"),
        ("de-DE", "uk", "Заявку на реєстрацію отримано"),
    ],
)
async def test_registration_mail_follows_the_request_language(world, gql, db, header, language, subject):
    headers = {"accept-language": header} if header else None
    await gql(REGISTER, {"input": registration()}, headers=headers)
    [mail] = await outbox(db)
    assert (mail.language, mail.subject, mail.to_address) == (language, subject, "petrenko@example.com")


async def test_every_decision_is_mailed_in_the_persons_language(world, gql, db, settings, inbox):
    for login, language in [("approved", "en"), ("rejected", "ru")]:
        await gql(
            REGISTER,
            {"input": registration(login=login, email=f"{login}@example.com")},
            headers={"accept-language": language},
        )
    admin = await admin_token(gql)
    queue = await gql("{ activationRequests { edges { node { id account { login } } } } }", token=admin)
    ids = {e["node"]["account"]["login"]: e["node"]["id"] for e in queue["data"]["activationRequests"]["edges"]}
    await gql(APPROVE, {"id": ids["approved"]}, token=admin)
    await gql(
        'mutation($id: ID!) { activationReject(id: $id, reason: "Дані не збігаються") { __typename } }',
        {"id": ids["rejected"]},
        token=admin,
    )
    await deliver(db, settings, inbox)
    by_address = {}
    for message in inbox.messages():
        by_address.setdefault(message["To"], []).append(message["Subject"])
    assert by_address["approved@example.com"] == [
        "We have received your registration",
        "Personal account No. 5550001 is linked",
    ]
    assert by_address["rejected@example.com"] == [
        "Заявка на регистрацию получена",
        "Заявка на подключение лицевого счёта № 5550001 отклонена",
    ]


async def test_mail_is_written_only_when_its_cause_commits(world, gql, db):
    # A refused registration (a taken login) leaves no letter behind.
    await register(gql)
    before = len(await outbox(db))
    refused = await register(gql, email="someone@example.com")
    assert refused["code"] == "LOGIN_TAKEN"
    assert len(await outbox(db)) == before


async def test_smtp_down_fails_nothing(world, gql, db, settings):
    # No SMTP server at all: the mutation succeeds and the letter waits in the outbox.
    payload = await register(gql, meterSerialNumber=METER)
    assert payload["activated"] is True
    [mail] = await outbox(db)
    assert mail.status == OutboxStatus.PENDING and mail.next_attempt_at <= dt.datetime.now(dt.UTC)
