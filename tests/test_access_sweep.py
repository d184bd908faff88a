"""Access sweep: every ID argument, called with someone else's IDs, answers exactly as a missing ID.

The contract: someone else's ID and a malformed ID behave exactly like an ID
that does not exist. The sweep walks the schema for every field (Query,
Mutation, Subscription and object fields) with an argument of type ID, or an
input object holding one, and calls each with every ID of customer lysenko's
objects, with well-formed IDs that do not exist (one per node type) and with
malformed IDs, as the second customer zakharov and as an aggregator holding
both scopes. Every answer must be the same, byte for byte, once request ids
are removed; and lysenko's data must be untouched afterwards.

CALLS says how to call each field with minimal valid other arguments. A new
ID-taking field makes `test_every_id_argument_is_in_the_table` fail until it
is added there. Every call is also made over a real WebSocket against the app
served by uvicorn (tests/live.py): the subscription runs there, queries and
mutations are refused there by the same request guard, and an aggregator's
connection is refused at connection_init (4403); either way someone else's
ID must get exactly what a missing one gets.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import graphql
import pytest
from sqlalchemy import text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from resolvers.ids import global_id
from schema import schema_sdl
from services.demo import demo_load
from tests.callers import Caller, api_key_make, post, token_mint
from tests.live import serve

NODE_TYPES = (
    "Account",
    "PersonalAccount",
    "Bill",
    "Payment",
    "InternetPayment",
    "MeterReading",
    "ActivationRequest",
    "RepaymentSchedule",
    "ViolationAct",
)
MISSING_PK = 999_999_999
MALFORMED = ("", "!!", "not-an-id", "bm90LWEtaWQ", "QmlsbDo", "UGVyc29uYWxBY2NvdW50Oi0x", "x" * 300)


@dataclass(frozen=True)
class Call:
    """How to call one field with an ID at one argument path: the document and its variables.
    `own` is the caller's own personal account (for arguments that need one besides the ID)."""

    document: str
    variables: Callable[[str, str], dict]


RESULT = "__typename ... on Error { code message } ... on ValidationError { fields { path code } }"
READING = (
    """query($input: MeterReadingInput!) { meterReadingPreview(input: $input) { %s
  ... on ReadingPreview { consumption amount previous { id takenOn } } } }"""
    % RESULT
)
SUBMIT = (
    """mutation($input: MeterReadingInput!) { meterReadingSubmit(input: $input) { %s
  ... on MeterReadingSubmitSuccess { replayed reading { id } } } }"""
    % RESULT
)
START = (
    """mutation($input: PaymentStartInput!) { paymentStart(input: $input) { %s
  ... on PaymentStartSuccess { payment { id number } } } }"""
    % RESULT
)
DECIDE = "... on ActivationDecideSuccess { request { id status personalAccountNumber } }"


def _reading(pa: str) -> dict:
    return {"input": {"personalAccountId": pa, "takenOn": "2014-05-26", "values": [{"zone": "TOTAL", "value": 48500}]}}


def _start(pa: str, bill: str | None) -> dict:
    return {
        "input": {
            "personalAccountId": pa,
            "category": None if bill else "ELECTRICITY",
            "billId": bill,
            "amount": "10.00",
            "idempotencyKey": "sweep-1",
        }
    }


CALLS: dict[tuple[str, str], Call] = {
    ("Query.node", "id"): Call(
        """query($id: ID!) { node(id: $id) { __typename id
          ... on PersonalAccount { number holderName } ... on Account { login } ... on Bill { number amount } } }""",
        lambda id_, own: {"id": id_},
    ),
    ("Query.meterReadingPreview", "input.personalAccountId"): Call(READING, lambda id_, own: _reading(id_)),
    ("Mutation.meterReadingSubmit", "input.personalAccountId"): Call(SUBMIT, lambda id_, own: _reading(id_)),
    ("Mutation.paymentStart", "input.personalAccountId"): Call(START, lambda id_, own: _start(id_, None)),
    # The caller's own personal account with someone else's bill.
    ("Mutation.paymentStart", "input.billId"): Call(START, lambda id_, own: _start(own, id_)),
    ("Mutation.paymentCancel", "id"): Call(
        "mutation($id: ID!) { paymentCancel(id: $id) { %s ... on PaymentCancelSuccess { payment { id status } } } }"
        % RESULT,
        lambda id_, own: {"id": id_},
    ),
    ("Mutation.activationApprove", "id"): Call(
        "mutation($id: ID!) { activationApprove(id: $id) { %s %s } }" % (RESULT, DECIDE), lambda id_, own: {"id": id_}
    ),
    ("Mutation.activationReject", "id"): Call(
        'mutation($id: ID!) { activationReject(id: $id, reason: "sweep") { %s %s } }' % (RESULT, DECIDE),
        lambda id_, own: {"id": id_},
    ),
    # Runs over graphql-transport-ws only (see `_websocket_answers`).
    ("Subscription.internetPaymentUpdated", "id"): Call(
        "subscription($id: ID!) { internetPaymentUpdated(id: $id) { id number status amount personalAccount { number } } }",
        lambda id_, own: {"id": id_},
    ),
}


def id_arguments(schema: graphql.GraphQLSchema) -> set[tuple[str, str]]:
    """(Type.field, argument path) for every argument of type ID, inside input objects too."""
    found = set()
    for type_ in schema.type_map.values():
        if type_.name.startswith("__") or not isinstance(
            type_, (graphql.GraphQLObjectType, graphql.GraphQLInterfaceType)
        ):
            continue
        for field_name, field in type_.fields.items():
            for argument_name, argument in field.args.items():
                for path in _id_paths(argument.type, (argument_name,), ()):
                    found.add((f"{type_.name}.{field_name}", ".".join(path)))
    return found


def _id_paths(type_, prefix: tuple[str, ...], seen: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    named = graphql.get_named_type(type_)
    if named.name == "ID":
        yield prefix
    elif isinstance(named, graphql.GraphQLInputObjectType) and named.name not in seen:
        for name, input_field in named.fields.items():
            yield from _id_paths(input_field.type, (*prefix, name), (*seen, named.name))


def test_every_id_argument_is_in_the_table():
    walked = id_arguments(graphql.build_schema(schema_sdl()))
    # The walk itself sees what the contract names.
    assert {
        ("Query.node", "id"),
        ("Mutation.paymentStart", "input.billId"),
        ("Subscription.internetPaymentUpdated", "id"),
    } <= walked
    assert walked == set(CALLS), (
        f"not in CALLS: {sorted(walked - set(CALLS))}; in CALLS but gone from the schema: {sorted(set(CALLS) - walked)}"
    )


# ---------------------------------------------------------------- the sweep

LYSENKO_OBJECTS = """{ viewer { id activationRequests { id } personalAccounts { id
  bills(from: "1900-01-01", first: 100) { edges { node { id } } }
  payments(from: "1900-01-01", first: 100) { edges { node { id } } }
  internetPayments(from: "1900-01-01", first: 100) { edges { node { id } } }
  readings(from: "1900-01-01", first: 100) { edges { node { id } } }
  repaymentSchedules { id } violationActs { id } } } }"""
OWN_ACCOUNTS = "{ viewer { personalAccounts { id } } }"

COUNTS = """SELECT
  (SELECT count(*) FROM bill WHERE personal_account_id = ANY(:pas)),
  (SELECT count(*) FROM payment WHERE personal_account_id = ANY(:pas)),
  (SELECT count(*) FROM meter_reading WHERE personal_account_id = ANY(:pas)),
  (SELECT count(*) FROM internet_payment WHERE personal_account_id = ANY(:pas)),
  (SELECT count(*) FROM activation_request WHERE personal_account_id = ANY(:pas) OR account_id = :account),
  (SELECT count(*) FROM bill), (SELECT count(*) FROM payment), (SELECT count(*) FROM meter_reading),
  (SELECT count(*) FROM internet_payment), (SELECT count(*) FROM activation_request),
  (SELECT count(*) FROM aggregator_payment)"""


def _ids_of(viewer: dict) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {
        "Account": [viewer["id"]],
        "ActivationRequest": [r["id"] for r in viewer["activationRequests"]],
    }
    for pa in viewer["personalAccounts"]:
        ids.setdefault("PersonalAccount", []).append(pa["id"])
        for connection, type_name in (
            ("bills", "Bill"),
            ("payments", "Payment"),
            ("internetPayments", "InternetPayment"),
            ("readings", "MeterReading"),
        ):
            ids.setdefault(type_name, []).extend(e["node"]["id"] for e in pa[connection]["edges"])
        ids.setdefault("RepaymentSchedule", []).extend(s["id"] for s in pa["repaymentSchedules"])
        ids.setdefault("ViolationAct", []).extend(a["id"] for a in pa["violationActs"])
    return ids


@pytest.fixture
async def sweep_world(db, settings, http):
    await demo_load(db, settings)
    lysenko = Caller("lysenko", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    answer = await post(http, lysenko, LYSENKO_OBJECTS)
    assert not answer.problems and "errors" not in answer.body, answer.body
    ids = _ids_of(answer.body["data"]["viewer"])
    # Every kind of object the contract can name by ID is among them.
    assert set(ids) == set(NODE_TYPES) and all(ids.values()), {k: len(v) for k, v in ids.items()}
    # They are live: lysenko himself gets each one back, so a leak would show.
    for type_name, values in ids.items():
        for value in values:
            node = await post(http, lysenko, "query($id: ID!) { node(id: $id) { __typename id } }", {"id": value})
            assert node.body["data"]["node"] == {"__typename": type_name, "id": value}, (type_name, value, node.body)
    return lysenko, ids


async def _counts(db, lysenko_ids: dict[str, list[str]]) -> tuple:
    from resolvers.ids import pk_of

    pas = [pk_of(v, "PersonalAccount") for v in lysenko_ids["PersonalAccount"]]
    account = pk_of(lysenko_ids["Account"][0], "Account")
    async with db.sessions() as s:
        return tuple((await s.execute(text(COUNTS), {"pas": pas, "account": account})).one())


def _normalised(body: object) -> object:
    """The answer without what differs by request (request ids)."""
    if isinstance(body, dict):
        return {k: _normalised(v) for k, v in body.items() if k not in ("requestId", "request_id")}
    if isinstance(body, list):
        return [_normalised(v) for v in body]
    return body


def _probe_ids(lysenko_ids: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(what, ID): lysenko's, then missing ones of each type, then malformed ones."""
    probes = [(f"lysenko's {t}", v) for t, values in sorted(lysenko_ids.items()) for v in values]
    probes += [(f"missing {t}", global_id(t, MISSING_PK)) for t in NODE_TYPES]
    probes += [("malformed", v) for v in MALFORMED]
    return probes


@pytest.mark.parametrize("who", ["zakharov", "aggregator"])
async def test_someone_elses_ids_answer_exactly_as_missing_ones(sweep_world, who, db, settings, http):
    lysenko, lysenko_ids = sweep_world
    if who == "zakharov":
        caller = Caller("zakharov", login="zakharov", token=await token_mint(db, settings, "zakharov"))
        own = (await post(http, caller, OWN_ACCOUNTS)).body["data"]["viewer"]["personalAccounts"][0]["id"]
        assert own not in lysenko_ids["PersonalAccount"]
    else:
        caller = Caller("aggregator", api_key=await api_key_make(db, "sweep-kassa"))
        own = global_id("PersonalAccount", MISSING_PK)
    before = await _counts(db, lysenko_ids)
    probes = _probe_ids(lysenko_ids)
    differences = []
    from app import create_app

    with serve(lambda: create_app(settings), factory=True) as base:
        for (field, path), call in sorted(CALLS.items()):
            # Every call over WebSocket too: the subscription runs there, the rest is refused
            # there by the same guard; either way someone else's ID must look like a missing one.
            runs = [("websocket", await _websocket_answers(base, caller, call, probes))]
            if not field.startswith("Subscription."):
                answers = []
                for _what, value in probes:
                    answer = await post(http, caller, call.document, call.variables(value, own))
                    assert not answer.problems, (field, path, value, answer.problems)
                    answers.append(_normalised({"status": answer.status, "body": answer.body}))
                runs.append(("http", answers))
            for transport, answers in runs:
                baseline = answers[len(probes) - len(MALFORMED) - len(NODE_TYPES)]  # the first missing ID's answer
                _assert_refusal(field, baseline)
                for (what, value), answer in zip(probes, answers, strict=True):
                    if answer != baseline:
                        differences.append((f"{field} over {transport}", path, what, value, answer, baseline))
    assert not differences, "\n".join(
        f"{field} {path} with {what} {value[:40]!r}:\n  got      {str(answer)[:400]}\n  missing: {str(baseline)[:400]}"
        for field, path, what, value, answer, baseline in differences[:10]
    )
    assert await _counts(db, lysenko_ids) == before


def _assert_refusal(field: str, baseline: object) -> None:
    """What a missing ID gets is itself a refusal: null, NOT_FOUND, or not signed in / not allowed."""
    text_ = json.dumps(baseline)
    assert any(
        word in text_
        for word in (
            '"node": null',
            "NOT_FOUND",
            "UNAUTHENTICATED",
            "FORBIDDEN",
            "BAD_USER_INPUT",
            "BAD_REQUEST",
            '"closed": 4403',
        )
    ), (field, baseline)
    assert "Success" not in text_, (field, baseline)


async def _websocket_answers(base: str, caller: Caller, call: Call, probes: list[tuple[str, str]]) -> list[object]:
    """The first message each probe gets over one graphql-transport-ws connection (or, when the
    connection itself is refused at connection_init, that close code for every probe)."""
    url = base.replace("http://", "ws://") + "/graphql"
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        credentials = caller.headers().get("authorization")
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": credentials} if credentials else {}})
        )
        try:
            assert json.loads(await asyncio.wait_for(ws.recv(), timeout=15))["type"] == "connection_ack"
        except ConnectionClosed:
            return [{"closed": ws.close_code}] * len(probes)
        answers = []
        for number, (_what, value) in enumerate(probes):
            operation = str(number)
            await ws.send(
                json.dumps(
                    {
                        "id": operation,
                        "type": "subscribe",
                        "payload": {"query": call.document, "variables": call.variables(value, "")},
                    }
                )
            )
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
                if message.get("id") == operation and message["type"] in ("next", "error", "complete"):
                    break
            if message["type"] == "next":
                # Stop it, so a leaked stream would not stay open.
                await ws.send(json.dumps({"id": operation, "type": "complete"}))
            answers.append(_normalised({"type": message["type"], "payload": message.get("payload")}))
    return answers
