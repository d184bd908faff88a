"""GET / — a small page that says where things are: GraphiQL, the sandbox bank and, in the
demo, the demo logins (their password is published in the README anyway)."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse

from routes.payments import PAGE_HEADERS
from services.demo import DEMO_PASSWORD, LOGINS


async def landing(request: Request) -> HTMLResponse:
    settings = request.app.state.settings
    items = ['<li><a href="/graphql">GraphiQL and the GraphQL API</a> (<code>POST /graphql</code>)</li>']
    if settings.sandbox_bank:
        items.append('<li><a href="/sandbox-bank/">Пісочниця банку</a> (test cards only)</li>')
    items.append('<li><a href="/healthz">/healthz</a></li>')
    logins = ""
    if settings.demo:
        rows = "".join(
            f"<tr><td><code>{html.escape(login)}</code></td><td>{html.escape(name)}</td>"
            f"<td>{html.escape(role.value)}</td></tr>"
            for login, name, _email, _phones, role in LOGINS
        )
        logins = (
            f"<h2>Демо-входи</h2><p>Пароль для всіх: <code>{html.escape(DEMO_PASSWORD)}</code></p>"
            f"<table><tr><th>login</th><th>ім'я</th><th>роль</th></tr>{rows}</table>"
        )
    page = (
        "<!doctype html><html lang='uk'><head><meta charset='utf-8'><title>Особистий кабінет УЕНС</title>"
        "<style>body{font-family:sans-serif;max-width:40rem;margin:2rem auto}td,th{padding:.2rem .6rem;text-align:left}</style>"
        f"</head><body><h1>Особистий кабінет УЕНС</h1><ul>{''.join(items)}</ul>{logins}</body></html>"
    )
    return HTMLResponse(page, headers=PAGE_HEADERS)
