"""The stock graphql-ws client (npm) receives a card payment's live status, CREATED → PENDING →
PROCESSED, then the server's complete: it refused the binary frames sent before."""

from __future__ import annotations

import asyncio
import json

from tests.clients.conftest import HERE
from tests.payments.test_card_payments import bank_message, callback
from tests.payments.test_live_status import SUBSCRIBE, payment, second_process  # noqa: F401  (fixtures)


async def _event(process: asyncio.subprocess.Process) -> dict:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
    assert line, "the client ended without an event"
    return json.loads(line)


async def test_graphql_ws_receives_the_payment_status_until_complete(
    node, payment, second_process, gql, http, settings
):
    payment_id, form = payment
    process = await asyncio.create_subprocess_exec(
        node,
        str(HERE / "subscribe.mjs"),
        second_process,
        gql.token,
        SUBSCRIBE,
        json.dumps({"id": payment_id}),
        cwd=HERE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert await _event(process) == {"event": "connected"}
        created = await _event(process)
        assert created["event"] == "next", created
        assert created["value"]["data"]["internetPaymentUpdated"]["status"] == "CREATED"

        assert (await callback(http, settings, bank_message(form, "wait_secure"))).status_code == 200
        pending = await _event(process)
        assert pending["value"]["data"]["internetPaymentUpdated"]["status"] == "PENDING"

        assert (await callback(http, settings, bank_message(form, "success"))).status_code == 200
        processed = await _event(process)
        update = processed["value"]["data"]["internetPaymentUpdated"]
        assert update["status"] == "PROCESSED" and update["confirmedAt"]
        assert await _event(process) == {"event": "complete"}
        assert await asyncio.wait_for(process.wait(), timeout=15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
