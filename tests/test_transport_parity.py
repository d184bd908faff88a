"""One guard for HTTP and WebSocket: what the HTTP path refuses, graphql-transport-ws refuses too.

Each case is the same request twice: as a query over HTTP POST (the payment through
`node`) and as the subscription over WebSocket (`internetPaymentUpdated`), on a server
started by the test. Both must be refused with the same code before anything runs.
Then what only a WebSocket has: the connection's own authentication (4401/4403), a fresh
token check on each subscribe, and the message-size cap (1009).
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.websocket import world, ws_errors, ws_first, ws_session  # noqa: F401 (world is a fixture)


def _deep(levels: int) -> str:
    """A selection under an InternetPayment nested `levels` cycles deep (4 levels each)."""
    inner = "number"
    for _ in range(levels):
        inner = f"personalAccount {{ internetPayments {{ edges {{ node {{ {inner} }} }} }} }}"
    return inner


# name: (selection under the payment, extra variables, expected code)
CASES = {
    "a list over 100 items": ("number", {"pad": list(range(101))}, "BAD_REQUEST"),
    "NUL in a variable": ("number", {"pad": "a\x00b"}, "BAD_REQUEST"),
    "NUL in a literal": ('personalAccount { bills(after: "a\\u0000") { totalCount } }', {}, "BAD_USER_INPUT"),
    "too deep": (_deep(4), {}, "GRAPHQL_VALIDATION_FAILED"),
    "too many aliases": (" ".join(f"a{i}: number" for i in range(31)), {}, "GRAPHQL_VALIDATION_FAILED"),
    # Over the token cap a document does not parse: graphql-transport-ws closes with 4400 then.
    "too many tokens": ("number" + " __typename" * 4000, {}, "GRAPHQL_PARSE_FAILED"),
}


def _http_document(selection: str) -> str:
    return f"query($id: ID!) {{ node(id: $id) {{ ... on InternetPayment {{ {selection} }} }} }}"


def _ws_document(selection: str) -> str:
    return f"subscription($id: ID!) {{ internetPaymentUpdated(id: $id) {{ {selection} }} }}"


def _code(errors: list[dict]) -> str | None:
    return errors[0].get("extensions", {}).get("code") if errors else None


@pytest.mark.parametrize("case", sorted(CASES))
async def test_every_http_refusal_holds_over_websocket(world, case):
    selection, extra, expected = CASES[case]
    variables = {"id": world["payment"], **extra}
    async with httpx.AsyncClient(base_url=world["base"]) as client:
        response = await client.post(
            "/graphql",
            json={"query": _http_document(selection), "variables": variables},
            headers={"Authorization": f"Bearer {world['token']}"},
        )
    http_errors = response.json()["errors"]
    assert response.json().get("data") is None
    async with ws_session(world["base"], f"Bearer {world['token']}") as ws:
        if expected == "GRAPHQL_PARSE_FAILED":
            await ws.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {"query": _ws_document(selection), "variables": variables},
                    }
                )
            )
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), timeout=15)
            assert (ws.close_code, ws.close_reason) == (4400, http_errors[0]["message"]), http_errors
            return
        message = await ws_first(ws, {"query": _ws_document(selection), "variables": variables})
    assert message["type"] == "error", message  # refused before anything ran: no `next`
    codes = (_code(http_errors), _code(ws_errors(message)))
    assert codes == (_code_of(expected), _code_of(expected)), (http_errors, message)
    assert ws_errors(message)[0]["message"] == http_errors[0]["message"]


def _code_of(expected: str) -> str | None:
    # graphql-core's validation errors carry no code of their own; the limiters' ones neither.
    return None if expected == "GRAPHQL_VALIDATION_FAILED" else expected


async def test_no_suggestions_and_no_introspection_in_production_over_either_transport(world, settings):
    settings.production, settings.demo = True, False
    authorization = f"Bearer {world['token']}"
    async with httpx.AsyncClient(base_url=world["base"], headers={"Authorization": authorization}) as client:
        typo = (
            await client.post(
                "/graphql", json={"query": _http_document("stauts"), "variables": {"id": world["payment"]}}
            )
        ).json()
        schema = (await client.post("/graphql", json={"query": "{ __schema { queryType { name } } }"})).json()
    async with ws_session(world["base"], authorization) as ws:
        ws_typo = await ws_first(ws, {"query": _ws_document("stauts"), "variables": {"id": world["payment"]}}, "1")
        ws_schema = await ws_first(ws, {"query": "subscription { __schema { queryType { name } } }"}, "2")
    for errors in (typo["errors"], ws_errors(ws_typo)):
        assert "stauts" in errors[0]["message"] and "Did you mean" not in errors[0]["message"], errors
    assert _code(schema["errors"]) == _code(ws_errors(ws_schema)) == "FORBIDDEN"


async def test_a_mutation_with_nul_over_websocket_is_refused_and_reveals_nothing(world, settings):
    settings.production, settings.demo = True, False
    mutation = 'mutation($login: String!) { tokenCreate(login: $login, password: "x") { __typename } }'
    async with ws_session(world["base"], f"Bearer {world['token']}") as ws:
        message = await ws_first(ws, {"query": mutation, "variables": {"login": "lysenko\x00"}})
    assert message["type"] == "error" and _code(message["payload"]) == "BAD_REQUEST", message
    assert "SELECT" not in json.dumps(message) and "lysenko" not in json.dumps(message)


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "ApiKey bogus", "Basic eDp5"])
async def test_a_connection_without_a_signed_in_person_is_closed_4403(world, authorization):
    url = world["base"].replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        payload = {"Authorization": authorization} if authorization else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=15)
    assert ws.close_code == 4403


async def test_subscribing_before_connection_init_is_closed_4401(world):
    url = world["base"].replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": _ws_document("number"), "variables": {"id": world["payment"]}},
                }
            )
        )
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=15)
    assert ws.close_code == 4401


async def test_each_subscribe_checks_the_token_afresh(world, gql):
    payload = {"query": _ws_document("number status"), "variables": {"id": world["payment"]}}
    async with ws_session(world["base"], f"Bearer {world['token']}") as ws:
        assert (await ws_first(ws, payload, "1"))["type"] == "next"
        revoked = await gql("mutation { tokenRevoke(everywhere: true) { __typename } }")
        assert revoked["data"]["tokenRevoke"]["__typename"] == "TokenRevokeSuccess", revoked
        message = await ws_first(ws, payload, "2")
    assert message["type"] == "error" and _code(message["payload"]) == "UNAUTHENTICATED", message


async def test_a_message_over_the_cap_closes_the_connection_1009(world):
    huge = {"query": _ws_document("number"), "variables": {"id": world["payment"], "pad": ["x" * 10] * 200_000}}
    async with ws_session(world["base"], f"Bearer {world['token']}") as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": huge}))
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), timeout=15)
    assert ws.close_code == 1009
