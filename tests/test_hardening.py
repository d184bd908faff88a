"""Limits, transport rules, introspection and operations endpoints."""

from __future__ import annotations

import asyncio

import pytest

from services.demo import DEMO_PASSWORD, demo_basics, demo_load
from tests.test_read_side import MAIN_SCREEN


@pytest.fixture(autouse=True)
async def demo_world(db, settings):
    await demo_basics(db, settings)


async def post(http, body, content_type="application/json", **headers):
    import json

    payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return await http.post("/graphql", content=payload, headers={"content-type": content_type, **headers})


async def test_the_main_screen_passes_every_limit(gql):
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    result = await gql(MAIN_SCREEN, {"first": 100})
    assert "errors" not in result


@pytest.mark.parametrize(("aliases", "ok"), [(30, True), (31, False)])
async def test_alias_limit(gql, aliases, ok):
    query = "{ " + " ".join(f"a{i}: terms {{ version }}" for i in range(aliases)) + " }"
    result = await gql(query)
    assert ("errors" not in result) is ok, result


async def test_aliases_in_fragments_count_too(gql):
    fragment = "fragment F on Query { " + " ".join(f"f{i}: terms {{ version }}" for i in range(20)) + " }"
    result = await gql("{ ...F " + " ".join(f"a{i}: terms {{ version }}" for i in range(11)) + " } " + fragment)
    assert "errors" in result


@pytest.mark.parametrize(("depth", "ok"), [(12, True), (13, False)])
async def test_depth_limit(gql, depth, ok):
    # oblasts > res > oblast > res > … is a cycle through the schema
    inner = "code"
    levels = depth - 1
    for level in range(levels):
        inner = f"res {{ {inner} }}" if level % 2 == 0 else f"oblast {{ {inner} }}"
    result = await gql("{ oblasts { " + inner + " } }")
    refused = any("exceeds maximum operation depth" in e["message"] for e in result.get("errors", []))
    assert refused is not ok, result


async def test_a_document_is_validated_once_and_its_verdict_kept(gql, monkeypatch):
    import uuid

    from schema.extensions import NulFreeStrings

    checked = []
    original = NulFreeStrings.enter_string_value

    def counting(self, node, *args):
        checked.append(node.value)
        return original(self, node, *args)

    monkeypatch.setattr(NulFreeStrings, "enter_string_value", counting)
    unique = f"a{uuid.uuid4().hex}: __typename"  # a document no earlier test sent
    for _ in range(3):
        assert "errors" not in await gql('{ __type(name: "Bill") { name } ' + unique + " }")
    assert checked == ["Bill"]
    inner = "code"
    for level in range(12):
        inner = f"res {{ {inner} }}" if level % 2 == 0 else f"oblast {{ {inner} }}"
    too_deep = "{ oblasts { " + inner + ' } __type(name: "Res") { name } ' + unique + " }"
    for _ in range(2):
        errors = (await gql(too_deep)).get("errors", [])
        assert any("exceeds maximum operation depth" in e["message"] for e in errors)
    assert checked == ["Bill", "Res"]


async def test_a_document_sent_again_is_not_hashed_again(gql, monkeypatch):
    # graphql-core's nodes hash the whole tree on every lookup: the validation cache finds a
    # parsed document by the document itself.
    import uuid

    from graphql.language import ast

    hashed = []

    def counting(self):
        hashed.append(self)
        return id(self)

    document = "{ terms { version } " + f"a{uuid.uuid4().hex}: __typename" + " }"
    assert "errors" not in await gql(document)
    monkeypatch.setattr(ast.DocumentNode, "__hash__", counting)
    for _ in range(3):
        assert "errors" not in await gql(document)
    assert hashed == []


async def test_a_new_text_is_parsed_once_for_the_guard_and_the_executor(gql, monkeypatch):
    # The request guard reads the document before the executor does; they share one parse.
    import uuid

    from graphql.language.parser import Parser

    parses = []
    parse_document = Parser.parse_document

    def counted(self):
        parses.append(self)
        return parse_document(self)

    monkeypatch.setattr(Parser, "parse_document", counted)
    document = "{ terms { version } " + f"a{uuid.uuid4().hex}: __typename" + " }"
    assert "errors" not in await gql(document)
    assert len(parses) == 1


@pytest.mark.parametrize(("count", "ok"), [(3990, True), (4010, False)])
async def test_token_limit(http, count, ok):
    # `{ terms { version } }` is 6 tokens; __typename padding adds one token each
    query = "{ terms { version " + " __typename" * (count - 6) + " } }"
    response = await post(http, {"query": query})
    errors = response.json().get("errors", [])
    refused = any("token" in e["message"].lower() for e in errors)
    assert refused is not ok


async def test_batching_is_off(http):
    response = await post(http, [{"query": "{ terms { version } }"}, {"query": "{ terms { version } }"}])
    assert response.status_code == 400


@pytest.mark.parametrize(("items", "status"), [(100, 200), (101, 400)])
async def test_input_lists_are_capped(http, items, status):
    query = "query($c: [ChargeCategory!]) { viewer { personalAccounts { bills(categories: $c) { totalCount } } } }"
    response = await post(http, {"query": query, "variables": {"c": ["ELECTRICITY"] * items}})
    assert response.status_code == status


async def test_bodies_are_capped(http):
    response = await post(http, b'{"query": "' + b" " * (600 * 1024) + b'{ terms { version } }"}')
    assert response.status_code == 413


async def test_post_needs_json_and_multipart_is_off(http):
    assert (await post(http, "query=%7Bterms%7Bversion%7D%7D", "application/x-www-form-urlencoded")).status_code == 400
    assert (await post(http, "{ terms { version } }", "text/plain")).status_code == 400
    files = await http.post("/graphql", files={"operations": (None, '{"query": "{ terms { version } }"}')})
    assert files.status_code == 400


async def test_queries_and_mutations_never_run_over_get(http):
    for query in ("{ terms { version } }", 'mutation { tokenCreate(login: "a", password: "b") { __typename } }'):
        response = await http.get("/graphql", params={"query": query})
        assert response.status_code in (400, 405)


INTROSPECTION = "{ __schema { queryType { name } } }"


@pytest.mark.parametrize(
    ("production", "is_demo", "login", "allowed"),
    [
        (False, False, None, True),
        (True, True, None, True),  # the demo shows its schema to everyone
        (True, False, None, False),
        (True, False, "lysenko", False),
        (True, False, "admin", True),
    ],
)
async def test_introspection_policy(settings, gql, production, is_demo, login, allowed):
    if login:
        await gql.sign_in(login, DEMO_PASSWORD)
    settings.production, settings.demo = production, is_demo
    result = await gql(INTROSPECTION)
    if allowed:
        assert result["data"]["__schema"]["queryType"]["name"] == "Query"
    else:
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    fragment = await gql('query { ...F } fragment F on Query { __type(name: "Bill") { name } }')
    assert ("errors" in fragment) is not allowed


@pytest.mark.parametrize(("key", "code"), [("bogus", "UNAUTHENTICATED"), ("valid", None)])
async def test_introspection_in_production_takes_only_an_active_api_key(settings, http, db, key, code):
    from tests.aggregators.aggregator_helpers import client_make

    if key == "valid":
        key = await client_make(db, scopes=["debt:read"])
    settings.production, settings.demo = True, False
    result = (await post(http, {"query": INTROSPECTION}, authorization=f"ApiKey {key}")).json()
    if code is None:
        assert result["data"]["__schema"]["queryType"]["name"] == "Query"
    else:
        assert result["errors"][0]["extensions"]["code"] == code
        assert result.get("data") is None


async def test_no_field_suggestions_in_production(settings, gql):
    assert "Did you mean" in (await gql("{ term { version } }"))["errors"][0]["message"]
    settings.production, settings.demo = True, False
    message = (await gql("{ term { version } }"))["errors"][0]["message"]
    assert "Did you mean" not in message and "term" in message


async def test_security_headers_on_graphiql(http):
    response = await http.get("/graphql", headers={"accept": "text/html"})
    for header in ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy"):
        assert header in response.headers


async def test_liveness_readiness_and_metrics(http, gql):
    assert (await http.get("/livez")).json() == {"status": "ok"}
    assert (await http.get("/readyz")).json() == {"status": "ok"}
    await gql("{ terms { version } }")
    text = (await http.get("/metrics")).text
    assert 'cabinet_http_requests_total{method="POST",route="/graphql",status="200"}' in text
    assert "cabinet_http_request_seconds_bucket" in text
    assert "cabinet_outbox_backlog 0.0" in text


# A nested input error cancels the sibling fields' resolvers; the cancellation used to
# escape the error policy as a plain-text 500 with no requestId.
NESTED_INPUT_ERROR = """{ viewer { personalAccounts {
  lastReading { personalAccount { bills(from: "8298-07-31") { totalCount } } bill { kind } }
  monthlyConsumption { kwh } } } }"""


async def test_a_nested_input_error_beside_other_fields_is_no_bare_500(http, gql, db, settings):
    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    response = await post(http, {"query": NESTED_INPUT_ERROR}, authorization=f"Bearer {gql.token}")
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert body["errors"], body
    for error in body["errors"]:
        assert error["extensions"]["code"] in {"BAD_USER_INPUT", "INTERNAL_SERVER_ERROR"}, error
        if error["extensions"]["code"] == "INTERNAL_SERVER_ERROR":
            assert error["extensions"].get("requestId"), error


@pytest.mark.parametrize("escaping", [RuntimeError("boom"), asyncio.CancelledError()])
async def test_whatever_escapes_the_executor_is_still_masked_json(http, monkeypatch, escaping):
    import app as app_module

    async def broken(self, **kwargs):
        raise escaping

    monkeypatch.setattr(app_module.CabinetGraphQL, "execute_operation", broken)
    response = await post(http, {"query": "{ terms { version } }"}, **{"x-request-id": "req-escape-1"})
    assert response.status_code == 500
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-escape-1"}
    assert "boom" not in response.text


async def test_an_exception_escaping_the_operation_gets_the_error_policy(http, gql, db, settings, monkeypatch):
    # The read ahead runs before the walk's own error handling: what escapes it leaves the
    # operation, past the request scope's policy. It is still masked, with the request id,
    # and a database in trouble there is still retryable, not its own text.
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from schema import execution

    await demo_load(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    for escaping, code in (
        (RuntimeError("secret detail"), "INTERNAL_SERVER_ERROR"),
        (PoolTimeout("QueuePool limit"), "SERVICE_UNAVAILABLE"),
    ):

        async def broken(ctx, needs, window, *, alone, escaping=escaping):
            raise escaping

        monkeypatch.setattr(execution, "read_ahead", broken)
        response = await post(
            http,
            {"query": "{ viewer { personalAccounts { number debt { total } } } }"},
            authorization=f"Bearer {gql.token}",
            **{"x-request-id": "req-escape-2"},
        )
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == code, response.text
        assert "secret detail" not in response.text and "QueuePool" not in response.text
        if code == "INTERNAL_SERVER_ERROR":
            assert error["extensions"]["requestId"] == "req-escape-2"


@pytest.mark.parametrize(
    ("production", "token", "sent", "status"),
    [
        (False, "", None, 200),
        (True, "", None, 404),  # production without a token: off
        (True, "", "Bearer ", 404),
        (True, "s3cret-metrics", None, 404),
        (True, "s3cret-metrics", "Bearer wrong", 404),
        (True, "s3cret-metrics", "Bearer s3cret-metrics", 200),
    ],
)
async def test_metrics_are_not_public_in_production(settings, http, production, token, sent, status):
    from pydantic import SecretStr

    settings.production, settings.demo, settings.metrics_token = production, False, SecretStr(token)
    response = await http.get("/metrics", headers={"authorization": sent} if sent else {})
    assert response.status_code == status
    assert ("cabinet_http_requests_total" in response.text) is (status == 200)
