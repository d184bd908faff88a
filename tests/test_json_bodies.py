"""Bodies that are not JSON, or JSON nested past reason, get a 400 with a GraphQL-shaped error."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"query": "{ terms { version } }"',
        b"\xff\xfe",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"query": "{ terms { version } }", "variables": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
async def test_malformed_json_is_a_400_with_errors(http, body):
    response = await http.post("/graphql", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    payload = response.json()
    assert payload["errors"][0]["message"], payload
