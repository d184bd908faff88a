"""Fuzzing over graphql-transport-ws: the same generated operations as tests/test_fuzz.py, sent
over a real WebSocket to the app served by uvicorn, plus generated subscriptions.

Over WebSocket only subscriptions run, and only for a signed-in person: an anonymous or an
aggregator's connection is refused at connection_init (4403); every generated query and
mutation is refused by the request guard with BAD_REQUEST (or, for a document that does not
parse, the protocol's 4400 close); generated subscriptions (drawn by hypothesis-graphql from
the schema's Subscription type) answer by the error policy. Nothing in the database changes.
"""

from __future__ import annotations

import asyncio
import functools
import json

import graphql
import hypothesis_graphql
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from schema import SCHEMA_FILE
from services.demo import demo_load
from tests.callers import LEAK_MARKERS, Caller, callers_make
from tests.live import serve
from tests.test_fuzz import EXAMPLES, SEED, corpus, custom_scalars, examples


@functools.cache
def subscriptions() -> tuple[str, ...]:
    """Subscription documents: hypothesis-graphql writes queries, so it is shown the schema with
    the Subscription type as its query root, and each drawn query becomes a subscription."""
    schema = graphql.build_schema(SCHEMA_FILE.read_text(encoding="utf-8"))
    as_query = graphql.GraphQLSchema(query=schema.subscription_type, types=list(schema.type_map.values()))
    drawn = examples(hypothesis_graphql.queries(as_query, custom_scalars=custom_scalars()), EXAMPLES // 3, SEED + 99)
    return tuple("subscription " + document.removeprefix("query").lstrip() for document in drawn)


class Connection:
    """One caller's graphql-transport-ws connection, opened again after the server closes it."""

    def __init__(self, url: str, caller: Caller) -> None:
        self.url, self.caller = url, caller
        self.ws = None
        self.operation = 0

    async def open(self) -> int | None:
        """Open and initialise; the close code when the server refuses the connection."""
        self.ws = await connect(self.url, subprotocols=["graphql-transport-ws"]).__aenter__()
        credentials = self.caller.headers().get("authorization")
        await self.ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": credentials} if credentials else {}})
        )
        try:
            assert json.loads(await asyncio.wait_for(self.ws.recv(), timeout=15))["type"] == "connection_ack"
        except ConnectionClosed:
            return self.ws.close_code
        return None

    async def first(self, query: str) -> dict:
        """The first answer to one subscribe: a `next`, an `error`, a `complete`, or a close."""
        self.operation += 1
        operation = str(self.operation)
        await self.ws.send(json.dumps({"id": operation, "type": "subscribe", "payload": {"query": query}}))
        try:
            while True:
                message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout=15))
                if message.get("id") == operation and message["type"] in ("next", "error", "complete"):
                    if message["type"] == "next":
                        await self.ws.send(json.dumps({"id": operation, "type": "complete"}))
                    return message
        except ConnectionClosed:
            closed = {"type": "closed", "code": self.ws.close_code, "reason": self.ws.close_reason}
            await self.open()
            return closed

    async def close(self) -> None:
        await self.ws.close()


def problems(message: dict, *, subscription: bool) -> list[str]:
    """What breaks the policy in one answer over WebSocket."""
    if message["type"] == "closed":
        # 4400 is the protocol's answer to a document that does not parse; nothing else.
        return [] if message["code"] == 4400 else [f"closed {message['code']} {message['reason']}"]
    if message["type"] == "next" and not subscription:
        return ["a query or mutation ran over WebSocket"]
    payload = message.get("payload")
    errors = payload if message["type"] == "error" else (payload or {}).get("errors") or []
    found = []
    for error in errors:
        code = (error.get("extensions") or {}).get("code")
        if code == "INTERNAL_SERVER_ERROR":
            found.append(f"INTERNAL_SERVER_ERROR: {error.get('message')}")
        if not subscription and message["type"] == "error" and code not in ("BAD_REQUEST", None):
            found.append(f"refused with {code}, not BAD_REQUEST")
        found += [f"leak {m!r}" for m in LEAK_MARKERS if m in str(error.get("message"))]
    return found


async def _row_counts(db) -> dict[str, int]:
    async with db.sessions() as s:
        tables = (
            (
                await s.execute(
                    text(
                        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
                        " AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"
                    )
                )
            )
            .scalars()
            .all()
        )
        return {t: (await s.execute(text(f'SELECT count(*) FROM "{t}"'))).scalar_one() for t in sorted(tables)}


async def test_generated_operations_over_websocket_run_only_subscriptions_and_change_nothing(db, settings):
    from app import create_app

    await demo_load(db, settings)
    world = await callers_make(db, settings)
    operations = corpus("query") + corpus("mutation")
    generated = subscriptions()
    before = await _row_counts(db)
    failures: list[tuple[str, str, list[str]]] = []
    subscribed = 0
    with serve(lambda: create_app(settings), factory=True) as base:
        for caller in world.values():
            connection = Connection(base.replace("http://", "ws://") + "/graphql", caller)
            refused = await connection.open()
            if caller.token is None:
                # Anonymous, or an aggregator's key: the only subscription is a person's.
                assert refused == 4403, (caller.name, refused)
                continue
            assert refused is None, caller.name
            for query in operations:
                failures += [
                    (caller.name, query, p) for p in [problems(await connection.first(query), subscription=False)] if p
                ]
            for query in generated:
                message = await connection.first(query)
                subscribed += message["type"] == "next"
                failures += [(caller.name, query, p) for p in [problems(message, subscription=True)] if p]
            await connection.close()
    assert not failures, "\n".join(f"--- as {who}: {p}\n{q[:600]}" for who, q, p in failures[:8])
    # The generated subscriptions reached the resolver, not only the validator.
    assert subscribed > 0
    assert await _row_counts(db) == before
