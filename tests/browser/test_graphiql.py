"""GraphiQL in headless Chromium against the live app: it runs queries and needs no CDN."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import httpx
import pytest

from services.demo import DEMO_PASSWORD, demo_basics

VIEWER = "{ viewer { login } }"
TOKEN_CREATE = """mutation($l: String!, $p: String!) { tokenCreate(login: $l, password: $p) {
    __typename ... on TokenCreateSuccess { accessToken } ... on Error { code message } } }"""


async def access_token(base_url: str, login: str, password: str) -> str:
    """Signs in through the API over HTTP, as a client would."""
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        response = await client.post("/graphql", json={"query": TOKEN_CREATE, "variables": {"l": login, "p": password}})
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["tokenCreate"]
    assert payload["__typename"] == "TokenCreateSuccess", payload
    return payload["accessToken"]


async def open_graphiql(page, base_url: str, prefill: dict[str, str] | None = None) -> None:
    """Opens GraphiQL (prefilled through the URL fragment) and waits for its editors."""
    await page.goto(f"{base_url}/graphql" + (f"#{urlencode(prefill)}" if prefill else ""))
    await page.locator(".graphiql-query-editor .CodeMirror").wait_for()


async def type_into(page, editor, text: str) -> None:
    """Replaces a CodeMirror editor's text (inserted as is: no auto-closed brackets)."""
    await editor.click()
    await page.keyboard.press("Control+A")
    await page.keyboard.insert_text(text)


async def run_query(page) -> str:
    """Presses the run button and returns the response pane's text once it has a result."""
    await page.locator(".graphiql-execute-button").click()
    response = page.locator(".graphiql-response .CodeMirror-code")
    await response.filter(has_text='"data"').wait_for(timeout=15_000)
    return await response.inner_text()


def off_server(urls: list[str], base_url: str) -> list[str]:
    """The requests that went anywhere but the live server (data: and blob: are not network)."""
    server = urlsplit(base_url).netloc
    return [u for u in urls if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != server]


def screenshot_path(name: str) -> Path:
    folder = Path(os.environ.get("CABINET_SCREENSHOTS") or tempfile.gettempdir())
    return folder / f"cabinet-{name}.png"


@pytest.mark.parametrize("prefill", ["url", "editors"])
async def test_graphiql_runs_viewer_with_token_offline(db, settings, live_server, page, page_requests, prefill):
    await demo_basics(db, settings)
    token = await access_token(live_server, "lysenko", DEMO_PASSWORD)
    headers = json.dumps({"Authorization": f"Bearer {token}"})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    if prefill == "url":
        await open_graphiql(page, live_server, {"query": VIEWER, "headers": headers})
    else:
        await open_graphiql(page, live_server)
        await type_into(page, page.locator(".graphiql-query-editor .CodeMirror"), VIEWER)
        await page.get_by_role("button", name="Headers").click()
        headers_editor = page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror")
        await type_into(page, headers_editor, headers)
    text = await run_query(page)

    assert '"login": "lysenko"' in text, text
    await page.screenshot(path=screenshot_path(f"graphiql-{prefill}"))
    assert errors == []
    paths = {urlsplit(u).path for u in page_requests}
    assert {"/graphql", "/static/graphiql/graphiql.min.js", "/static/graphiql/graphiql.min.css"} <= paths, paths
    assert off_server(page_requests, live_server) == [], "GraphiQL reached beyond the live server (a CDN?)"


async def test_graphiql_without_token_shows_viewer_null(db, settings, live_server, page, page_requests):
    await demo_basics(db, settings)

    await open_graphiql(page, live_server, {"query": VIEWER})
    text = await run_query(page)

    assert '"viewer": null' in text, text
    assert "lysenko" not in text
    assert off_server(page_requests, live_server) == []
