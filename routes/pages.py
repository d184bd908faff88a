"""The app's own small HTML pages (the payment return page, the account link pages): one
layout, and a Content-Security-Policy that lets run only the page's own inline script, by its
hash, and lets it talk only to this origin."""

from __future__ import annotations

import base64
import hashlib
import html

from starlette.responses import HTMLResponse

STYLE = (
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2733;"
    "max-width:34rem;margin:3rem auto;padding:0 1rem}"
    "label{display:block;margin:.8rem 0 .25rem}"
    "input{width:100%;padding:.5rem;font:inherit;box-sizing:border-box}"
    "button{margin-top:1rem;padding:.55rem 1.2rem;font:inherit}"
    "dl{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}dt{color:#5b6b7c}dd{margin:0}"
    ".note{color:#5b6b7c}"
)


def script_hash(script: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"


def page_headers(script: str | None) -> dict[str, str]:
    scripts = f"script-src {script_hash(script)}; connect-src 'self'; " if script else ""
    return {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # Tokens ride in the fragment, never sent; no Referer leaves these pages either.
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
        "Content-Security-Policy": (
            f"default-src 'none'; {scripts}style-src 'unsafe-inline'; "
            "form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
        ),
    }


def html_page(
    title: str, body: str, *, script: str | None = None, status: int = 200, refresh: int | None = None
) -> HTMLResponse:
    """A Ukrainian page; `body` is trusted HTML (escape what goes into it), `script` a constant."""
    meta = f"<noscript><meta http-equiv='refresh' content='{refresh}'></noscript>" if refresh else ""
    document = (
        "<!doctype html><html lang='uk'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title>{meta}<style>{STYLE}</style></head><body>{body}"
        + (f"<script>{script}</script>" if script else "")
        + "</body></html>"
    )
    return HTMLResponse(document, status_code=status, headers=page_headers(script))
