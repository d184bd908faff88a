"""A request's objects go with the request, freed by reference counting, not left in reference
cycles for the cycle collector.

graphql-core's executor holds helpers bound to itself; while that cycle stood, everything the
request reached (its context, the HTTP request, the rows read) waited for the collector, which
then freed hundreds of requests' objects at once: pauses of 5-15 ms, the p99 under load.
Each test runs with the collector off and asks whether the request's context is gone the
moment its answer is, on every path: the walk, graphql-core's run after the walk gives up, a
mutation, and a request refused before it executes.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from app import CabinetGraphQL
from bench.read_side_documents import MAIN_SCREEN, MOBILE
from services.demo import DEMO_PASSWORD, demo_load
from tests.conftest import GraphQLClient


@pytest.fixture
def contexts(monkeypatch) -> list[weakref.ref]:
    """A weak reference to each request's context, taken as the view makes it."""
    made: list[weakref.ref] = []
    original = CabinetGraphQL.get_context

    async def recorded(self, request, response):
        context = await original(self, request, response)
        made.append(weakref.ref(context))
        return context

    monkeypatch.setattr(CabinetGraphQL, "get_context", recorded)
    return made


@pytest.fixture
def collector_off():
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


SIGNED_IN = "signed in"


@pytest.mark.parametrize(
    ("document", "token"),
    [
        pytest.param(MAIN_SCREEN, SIGNED_IN, id="main screen: the walk"),
        pytest.param(MOBILE, SIGNED_IN, id="mobile: the walk"),
        # A field that fails: the walk gives up and graphql-core answers the whole operation.
        pytest.param(
            '{ viewer { login } node(id: "bm90IGFuIGlk") { id } }', SIGNED_IN, id="graphql-core after the walk"
        ),
        pytest.param(
            'mutation { passwordChange(currentPassword: "wrong", newPassword: "x") { __typename } }',
            SIGNED_IN,
            id="mutation",
        ),
        pytest.param("{ viewer { login } }", "not-a-token", id="a token not known"),
        pytest.param("{ viewer { login } ", SIGNED_IN, id="refused: does not parse"),
        pytest.param("{ viewer { nothingHere } }", SIGNED_IN, id="refused: does not validate"),
    ],
)
async def test_a_request_leaves_nothing_for_the_cycle_collector(
    db, settings, http, contexts, collector_off, document, token
):
    await demo_load(db, settings)
    gql = GraphQLClient(http)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    contexts.clear()
    bearer = gql.token if token == SIGNED_IN else token
    answer = await http.post("/graphql", json={"query": document}, headers={"authorization": f"Bearer {bearer}"})
    assert answer.status_code in (200, 400), answer.text
    assert len(contexts) == 1
    assert contexts[0]() is None, [type(r).__name__ for r in gc.get_referrers(contexts[0]())]
