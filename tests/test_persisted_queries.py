"""Persisted queries: Apollo's automatic persisted queries, and trusted documents only.

Over HTTP (through the ASGI app) and over WebSocket (a served app): a hash the server does
not know is PERSISTED_QUERY_NOT_FOUND, the hash with its text registers it, the hash alone
then runs it; a text that is not its hash is refused. With CABINET_TRUSTED_DOCUMENTS_ONLY
only what `cabinet trusted-documents load` registered from a manifest runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest
from sqlalchemy import text

import cli
from services.demo import demo_basics
from services.trusted_documents import ManifestError, manifest_documents
from tests.websocket import world, ws_errors, ws_first, ws_session  # noqa: F401 (world is a fixture)

TERMS = "query Terms { terms { version } }"
OTHER = "query Other { terms { version title } }"


def sha(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


def persisted(body: str) -> dict:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha(body)}}


async def send(http, body: dict):
    return await http.post("/graphql", json=body, headers={"content-type": "application/json"})


def _code(answer: dict) -> str | None:
    errors = answer.get("errors") or []
    return errors[0].get("extensions", {}).get("code") if errors else None


async def test_the_automatic_protocol_over_http(http, db, settings):
    await demo_basics(db, settings)
    unknown = (await send(http, {"extensions": persisted(TERMS)})).json()
    assert unknown["errors"][0]["message"] == "PersistedQueryNotFound"
    assert _code(unknown) == "PERSISTED_QUERY_NOT_FOUND" and unknown.get("data") is None
    registered = (await send(http, {"query": TERMS, "extensions": persisted(TERMS)})).json()
    assert registered["data"]["terms"]["version"]
    by_hash = (await send(http, {"extensions": persisted(TERMS)})).json()
    assert by_hash == registered


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": {"version": 1, "sha256Hash": sha(OTHER)}},  # not this text's hash
        {"persistedQuery": {"version": 2, "sha256Hash": sha(TERMS)}},
        {"persistedQuery": {"version": 1, "sha256Hash": "not-hex"}},
        {"persistedQuery": "yes"},
    ],
)
async def test_a_hash_that_does_not_name_the_text_is_refused(http, extensions):
    response = await send(http, {"query": TERMS, "extensions": extensions})
    assert response.status_code == 400 and _code(response.json()) == "BAD_REQUEST", response.text
    # Nothing was registered under the wrong hash.
    again = (await send(http, {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": sha(OTHER)}}})).json()
    assert _code(again) == "PERSISTED_QUERY_NOT_FOUND"


async def test_only_trusted_documents_run_when_the_deployment_says_so(http, db, settings, tmp_path, monkeypatch):
    await demo_basics(db, settings)
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": sha(TERMS), "name": "Terms", "type": "query", "body": TERMS}],
            }
        )
    )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    await asyncio.to_thread(cli.main, ["trusted-documents", "load", str(manifest)])
    settings.trusted_documents_only = True
    # The registered document, by its hash or as its text.
    by_hash = (await send(http, {"extensions": persisted(TERMS)})).json()
    assert by_hash["data"]["terms"]["version"]
    assert (await send(http, {"query": TERMS})).json() == by_hash
    # Anything else, even with its own hash (no automatic registration here).
    for body in ({"query": OTHER}, {"query": OTHER, "extensions": persisted(OTHER)}):
        refused = (await send(http, body)).json()
        assert _code(refused) == "PERSISTED_QUERY_NOT_ALLOWED" and refused.get("data") is None, refused
    assert _code((await send(http, {"extensions": persisted(OTHER)})).json()) == "PERSISTED_QUERY_NOT_FOUND"


async def test_the_same_rules_over_websocket(world, settings, tmp_path, monkeypatch):  # noqa: F811
    subscription = "subscription($id: ID!) { internetPaymentUpdated(id: $id) { number status } }"
    variables = {"id": world["payment"]}
    async with ws_session(world["base"], f"Bearer {world['token']}") as ws:
        unknown = await ws_first(ws, {"extensions": persisted(subscription), "variables": variables}, "1")
        assert unknown["type"] == "error" and ws_errors(unknown)[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        registered = await ws_first(
            ws, {"query": subscription, "extensions": persisted(subscription), "variables": variables}, "2"
        )
        by_hash = await ws_first(ws, {"extensions": persisted(subscription), "variables": variables}, "3")
        assert registered["type"] == by_hash["type"] == "next" and registered["payload"] == by_hash["payload"]
        settings.trusted_documents_only = True
        refused = await ws_first(ws, {"query": subscription, "variables": variables}, "4")
        assert (
            refused["type"] == "error" and ws_errors(refused)[0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
        )


def test_manifests_of_both_tools_are_read_and_checked():
    apollo = {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [{"id": sha(TERMS), "name": "Terms", "type": "query", "body": TERMS}],
    }
    codegen = {sha(TERMS): TERMS, sha(OTHER): OTHER}
    assert [(d.sha256, d.name) for d in manifest_documents(apollo)] == [(sha(TERMS), "Terms")]
    assert {d.body for d in manifest_documents(codegen)} == {TERMS, OTHER}
    for bad in ({sha(OTHER): TERMS}, {"abc": TERMS}, [TERMS], {**apollo, "version": 2}, {sha(TERMS): 1}):
        with pytest.raises(ManifestError):
            manifest_documents(bad)


async def test_a_manifest_with_a_wrong_id_loads_nothing(db, settings, tmp_path, monkeypatch):
    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({sha(TERMS): TERMS, sha(TERMS + " "): OTHER}))
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    with pytest.raises(SystemExit):
        await asyncio.to_thread(cli.main, ["trusted-documents", "load", str(manifest)])
    async with db.sessions() as s:
        assert (await s.execute(text("SELECT count(*) FROM trusted_document"))).scalar_one() == 0
