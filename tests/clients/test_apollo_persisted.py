"""Apollo Client's persisted-queries link against the live server: the protocol as it ships."""

from __future__ import annotations

from services.demo import DEMO_PASSWORD, demo_load
from tests.clients.conftest import node_run


async def test_the_link_registers_a_query_then_sends_its_hash_alone(node, live_server, db, settings, gql):
    await demo_load(db, settings)
    token = (await gql.sign_in("lysenko", DEMO_PASSWORD))["accessToken"]
    result = node_run(node, "apollo_persisted.mjs", f"{live_server}/graphql", token)
    # The first client was told PersistedQueryNotFound and sent the text with the hash; the
    # second, with a fresh link and cache, sent only the hash and got the same answer.
    assert result["first"] == ["hash", "hash+query"], result
    assert result["second"] == ["hash"], result
    assert result["same"] and result["number"] == "0101010", result
