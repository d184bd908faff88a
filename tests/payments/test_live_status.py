"""internetPaymentUpdated over graphql-transport-ws, across two server processes.

The subscription is served by a second process (uvicorn in a subprocess);
the bank's callbacks reach the first. Only PostgreSQL's LISTEN/NOTIFY joins them.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from services.demo import DEMO_PASSWORD
from tests.live import free_socket
from tests.payments.test_card_payments import bank_message, callback, form_params
from tests.websocket import card_payment_started

SUBSCRIBE = "subscription($id: ID!) { internetPaymentUpdated(id: $id) { number status confirmedAt } }"


@pytest.fixture
def second_process(settings):
    """The same app in another OS process, on the same database."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    code = (
        "import uvicorn\n"
        "from app import create_app\n"
        "from config import Settings\n"
        f"uvicorn.run(create_app(Settings()), host='127.0.0.1', port={port}, log_level='warning')\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "CABINET_BUSINESS_DATE": settings.business_date.isoformat(),
        "CABINET_PUBLIC_URL": settings.public_url,
    }
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the second server did not start")
            time.sleep(0.1)
        yield base.replace("http://", "ws://") + "/graphql"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
async def payment(db, settings, gql):
    started = await card_payment_started(db, settings, gql)
    return started["payment"]["id"], form_params(started["checkout"])


async def _text(ws) -> dict:
    """The next message, which must come as a text frame (websockets gives bytes for binary
    ones; the stock graphql-ws client and browsers' clients refuse those)."""
    frame = await asyncio.wait_for(ws.recv(), timeout=15)
    assert isinstance(frame, str), f"a binary frame: {frame!r}"
    return json.loads(frame)


async def _messages(ws, count: int) -> list[dict]:
    received = []
    while len(received) < count:
        message = await _text(ws)
        if message["type"] in ("next", "complete", "error"):
            received.append(message)
    return received


async def test_status_streams_across_processes_until_final(payment, second_process, gql, http, settings):
    payment_id, form = payment
    async with connect(second_process, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {gql.token}"}}))
        assert (await _text(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"id": payment_id}}}
            )
        )
        [first] = await _messages(ws, 1)
        assert first["payload"]["data"]["internetPaymentUpdated"]["status"] == "CREATED"

        assert (await callback(http, settings, bank_message(form, "wait_secure"))).status_code == 200
        [pending] = await _messages(ws, 1)
        assert pending["payload"]["data"]["internetPaymentUpdated"]["status"] == "PENDING"

        assert (await callback(http, settings, bank_message(form, "success"))).status_code == 200
        processed, complete = await _messages(ws, 2)
        update = processed["payload"]["data"]["internetPaymentUpdated"]
        assert update["status"] == "PROCESSED" and update["confirmedAt"]
        assert complete["type"] == "complete"


async def test_a_final_payment_sends_its_state_and_ends(payment, second_process, gql, http, settings):
    payment_id, form = payment
    await callback(http, settings, bank_message(form, "failure"))
    async with connect(second_process, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {gql.token}"}}))
        await ws.recv()
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"id": payment_id}}}
            )
        )
        state, complete = await _messages(ws, 2)
    assert state["payload"]["data"]["internetPaymentUpdated"]["status"] == "FAILED"
    assert complete["type"] == "complete"


async def test_an_anonymous_connection_is_refused_at_init(payment, second_process):
    async with connect(second_process, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        with pytest.raises(ConnectionClosed):
            await ws.recv()
    assert ws.close_code == 4403


async def test_someone_elses_payment_gets_no_stream(payment, second_process, gql):
    payment_id, _ = payment
    token = (await gql.sign_in("zakharov", DEMO_PASSWORD))["accessToken"]
    async with connect(second_process, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert (await _text(ws))["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"id": payment_id}}}
            )
        )
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
    errors = message["payload"] if message["type"] == "error" else message["payload"].get("errors")
    assert errors and "data" not in str(message["payload"].get("data") or "")
    # Someone else's payment looks like a missing one.
    assert {e.get("extensions", {}).get("code") for e in errors} == {"BAD_USER_INPUT"}


@pytest.mark.parametrize(
    "document",
    [
        "{ terms { version } }",
        'mutation { tokenCreate(login: "lysenko", password: "x") { __typename } }',
        "query Q { terms { version } } subscription S($id: ID!) { internetPaymentUpdated(id: $id) { status } }",
    ],
)
async def test_only_subscriptions_run_over_websocket(payment, second_process, gql, document):
    payment_id, _ = payment
    async with connect(second_process, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {gql.token}"}}))
        assert (await _text(ws))["type"] == "connection_ack"
        payload = {"query": document, "variables": {"id": payment_id}}
        if document.startswith("query Q"):
            payload["operationName"] = "Q"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        message = await _text(ws)
        assert message["type"] == "error" and message["id"] == "1", message
        assert message["payload"][0]["extensions"]["code"] == "BAD_REQUEST"
        assert "data" not in json.dumps(message["payload"])
