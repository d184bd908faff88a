"""The lean query walk (schema/execution.py) answers exactly as graphql-core's executor.

Each document is run twice on the same data, with the walk and with graphql-core alone
(CABINET_LEAN_QUERIES off), and the two answers must be equal: hypothesis-graphql's
generated queries (tests/test_fuzz.py's corpus) as a customer, an admin and a stranger; the
read side's documents as frontends send them at 10 and 500 bills. Signed document links
carry their expiry and `serverTime` moves on, so they are compared without those. Also: the walk really answers (it does
not give up on every document), and a document it cannot take still gets graphql-core's
exact partial answer and errors.
"""

from __future__ import annotations

import re

import pytest

from schema import execution
from services.demo import demo_load
from tests.callers import Caller, callers_make, post
from tests.test_fuzz import corpus
from tests.test_read_side import READ_SIDE_DOCUMENTS, _history

SIGNED_LINK = re.compile(r"(/documents/[a-z]+/\d+\?)[^\"']*")


def _comparable(body: object) -> object:
    text = SIGNED_LINK.sub(r"\1…", repr(body))
    text = re.sub(r"'serverTime': '[^']+'", "'serverTime': now", text)  # the clock moves on between runs
    return re.sub(r"'requestId': '[0-9a-f]+'|Код запиту: [0-9a-f]+", "request id", text)


async def _both(http, settings, caller: Caller, query: str, variables: dict | None = None):
    settings.lean_queries = True
    lean = await post(http, caller, query, variables)
    settings.lean_queries = False
    full = await post(http, caller, query, variables)
    settings.lean_queries = True
    return lean, full


async def test_generated_queries_answer_as_graphql_core_does(db, settings, http, monkeypatch):
    await demo_load(db, settings)
    world = await callers_make(db, settings)
    walked = 0
    original = execution._Walk.root

    async def counted(self):
        nonlocal walked
        data = await original(self)
        walked += 1
        return data

    monkeypatch.setattr(execution._Walk, "root", counted)
    differences = []
    for query in corpus("query"):
        for caller in (world["customer"], world["admin"], world["anonymous"]):
            lean, full = await _both(http, settings, caller, query)
            if (lean.status, _comparable(lean.body)) != (full.status, _comparable(full.body)):
                differences.append((caller.name, query, lean.body, full.body))
    assert not differences, "\n".join(
        f"--- {w}\n{q[:800]}\nlean: {str(a)[:600]}\nfull: {str(b)[:600]}" for w, q, a, b in differences[:5]
    )
    # Most generated queries the walk answers itself (the rest it hands to graphql-core).
    assert walked > len(corpus("query")), walked


@pytest.mark.parametrize("bills", [10, 500])
async def test_the_read_side_documents_answer_as_graphql_core_does(db, settings, http, bills):
    from resolvers.ids import global_id
    from services.demo import demo_basics
    from tests.callers import token_mint

    await demo_basics(db, settings)
    settings.fast_paths = False
    pa = await _history(db, bills)
    caller = Caller("customer", login="lysenko", token=await token_mint(db, settings, "lysenko"))
    variables = {"from": "1900-01-01", "first": 100, "id": global_id("PersonalAccount", pa)}
    for name, document in sorted(READ_SIDE_DOCUMENTS.items()):
        declared = {k: v for k, v in variables.items() if f"${k}" in document}
        lean, full = await _both(http, settings, caller, document, declared)
        assert lean.body.get("data") and "errors" not in lean.body, (name, lean.body)
        assert _comparable(lean.body) == _comparable(full.body), name


async def test_a_failing_field_gets_graphql_cores_partial_answer(db, settings, http):
    # An expired-looking token: viewer is null with UNAUTHENTICATED, the rest still answers.
    await demo_load(db, settings)
    caller = Caller("broken", token="not-a-token")
    lean, full = await _both(http, settings, caller, "{ terms { version } viewer { id } }")
    assert lean.body == full.body
    assert lean.body["data"]["terms"]["version"] and lean.body["data"]["viewer"] is None
    assert lean.body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
