"""graphql-http's audit of the GraphQL-over-HTTP spec: every MUST and SHOULD is ok."""

from __future__ import annotations

from tests.clients.conftest import node_run

# MAY notices refused on purpose: no operations over GET (README, Hardening): a GET
# query lands in logs, proxies and browser history with its variables, and a
# cross-site <img> could trigger it with the person's cookies or headers.
GET_NOTICES = {"5A70", "D6D5", "6A70"}


def test_every_must_and_should_of_the_audit_is_ok(node, live_server):
    results = node_run(node, "audit.mjs", f"{live_server}/graphql")
    assert isinstance(results, list) and len(results) > 50
    failing = [r for r in results if r["status"] != "ok" and not (r["status"] == "notice" and r["id"] in GET_NOTICES)]
    assert failing == [], "\n".join(f"{r['id']} {r['status']}: {r['name']} — {r['reason']}" for r in failing)
    refused = {r["id"] for r in results if r["status"] == "notice"}
    assert refused == GET_NOTICES  # and still refused: GET serves no operation
