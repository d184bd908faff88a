"""WebSocket helpers for tests: a served app with a card payment, and graphql-transport-ws calls."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import ClientConnection, connect

from resolvers.ids import global_id
from services.demo import DEMO_PASSWORD, demo_basics
from tests.builders import history_make, personal_account_make
from tests.live import serve
from tests.payments.test_card_payments import START, start_input


async def card_payment_started(db, settings, gql) -> dict:
    """Lysenko signed in (gql carries his token) with a card payment started: paymentStart's payload."""
    await demo_basics(db, settings)
    async with db.transaction() as s:
        pa = await personal_account_make(s, number="8100001", login="lysenko")
        await history_make(s, personal_account_id=pa, bills=3, start_number=71_000_000)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    return (await gql(START, start_input(global_id("PersonalAccount", pa))))["data"]["paymentStart"]


@pytest.fixture
async def world(db, settings, gql):
    """A served app, lysenko's token and one of his card payments."""
    from app import create_app

    started = await card_payment_started(db, settings, gql)
    with serve(lambda: create_app(settings), factory=True) as base:
        yield {"base": base, "token": gql.token, "payment": started["payment"]["id"]}


@contextlib.asynccontextmanager
async def ws_session(base: str, authorization: str | None) -> AsyncIterator[ClientConnection]:
    """A graphql-transport-ws connection, acknowledged."""
    async with connect(base.replace("http://", "ws://") + "/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        payload = {"Authorization": authorization} if authorization else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=15))["type"] == "connection_ack"
        yield ws


async def ws_first(ws: ClientConnection, payload: dict, operation: str = "1") -> dict:
    """The first `next` or `error` message of one subscribe."""
    await ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": payload}))
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
        if message.get("id") == operation and message["type"] in ("next", "error"):
            if message["type"] == "next":
                await ws.send(json.dumps({"id": operation, "type": "complete"}))
            return message


def ws_errors(message: dict) -> list[dict]:
    return message["payload"] if message["type"] == "error" else message["payload"].get("errors") or []
