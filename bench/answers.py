"""The answers checked and the plans read, for every measured document.

In process, on the app as a client reaches it (ASGI, the same request bodies the load sends):
the app's JSON against the floor's statement (bench/floor.py) for the same logins, which must
be equal; every statement the app runs for the document, EXPLAINed (index access only, a
sequential scan allowed on the small reference tables). Over HTTP, once PostGraphile runs:
its figures against the app's, loosely (its shapes and ids differ from the app's).
"""

from __future__ import annotations

import json
import urllib.request
from decimal import Decimal

from bench import world
from bench.datagen import BUSINESS_DATE
from bench.floor import FLOOR
from bench.pg import dsn

# Sequential scans are fine on these: a handful of rows each.
SMALL_TABLES = {"res", "oblast", "tariff", "tariff_block", "terms", "bill_number_counter", "api_client"}


def _scans(plan: str) -> list[str]:
    out = []
    for line in plan.splitlines():
        text = line.strip().lstrip("->").strip()
        for kind in ("Index Only Scan", "Index Scan", "Bitmap Index Scan", "Seq Scan", "Bitmap Heap Scan"):
            if text.startswith(kind):
                out.append(text.split("  (")[0])
                break
    return out


def _seq_scans(plan: str) -> list[str]:
    return [s for s in _scans(plan) if s.startswith("Seq Scan") and s.split(" on ")[1].split()[0] not in SMALL_TABLES]


async def _explain(conn, statement: str, params) -> str:
    rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY ON) " + statement, *params)
    return "\n".join(r[0] for r in rows)


def _settings(url: str):
    from config import Settings

    given = {"database_url": url, "business_date": BUSINESS_DATE}
    if "fast_paths" in Settings.model_fields:  # an older app (--app-from): its fast path off too
        given["fast_paths"] = False
    return Settings(**given)


def _end_cursor(answer: dict) -> str | None:
    return answer["data"]["viewer"]["personalAccounts"][0]["bills"]["pageInfo"]["endCursor"]


async def plans_and_answers(prepared, documents: list[world.Document], compare: int = 20) -> dict:
    """For each document, as the app answers it ("app"): statements, their plans, the floor's plan, and whether the
    floor's JSON equals the app's for `compare` logins (both pages of the bills tab, the second
    after the first's endCursor, which must be the cursor the load's lines carry)."""
    import asyncpg
    import httpx
    from sqlalchemy import event

    from app import create_app

    app = create_app(_settings(prepared.url))
    out: dict = {}
    conn = await asyncpg.connect(dsn(prepared.url), server_settings={"timezone": "UTC"})
    try:
        for doc in documents:
            query = doc.query
            captured: list[tuple[str, tuple]] = []

            def record(conn_, cursor, statement, parameters, context, executemany, captured=captured):
                captured.append((statement, tuple(parameters or ())))

            answers: dict[int, list[dict]] = {}
            mismatches: list[str] = []
            cursors_wrong = 0
            requests_of_first = 0
            floor_first: tuple | None = None
            sql, params_of = FLOOR[doc.slug]
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
                for i, login in enumerate(prepared.logins[:compare]):
                    auth = world.authorization(doc, login, prepared.api_key)
                    pages: list[dict] = []
                    for variables in world.variables_of(doc, login):
                        if doc.paged and pages:
                            # The second page: after the first page's endCursor, as a frontend pages.
                            cursors_wrong += _end_cursor(pages[0]) != variables["after"]
                            variables = {"after": _end_cursor(pages[0])}
                        if i == 0:
                            event.listen(app.state.db.engine.sync_engine, "before_cursor_execute", record)
                        response = await http.post(
                            "/graphql",
                            content=world.graphql_body(query, variables).encode(),
                            headers={"Authorization": auth, "Content-Type": "application/json"},
                        )
                        if i == 0:
                            event.remove(app.state.db.engine.sync_engine, "before_cursor_execute", record)
                            requests_of_first += 1
                        answer = response.json()
                        params = params_of(auth, variables, BUSINESS_DATE)
                        floor_first = floor_first or params
                        text = await conn.fetchval(sql, *params)
                        if text is None or json.loads(text) != answer:
                            mismatches.append(f"{login.personal_account_id}{' page 2' if len(pages) else ''}")
                        pages.append(answer)
                    answers[login.personal_account_id] = pages
            plans = []
            for statement, params in captured:
                head = statement.lstrip().split(None, 1)[0].upper()
                if head not in ("SELECT", "WITH"):
                    plans.append({"sql": statement, "plan": "(not a query)"})
                    continue
                plans.append({"sql": statement, "plan": await _explain(conn, statement, params)})
            floor_plan = await _explain(conn, sql, floor_first) if floor_first else "(no request)"
            app_seq = sorted({s for p in plans for s in _seq_scans(p["plan"])})
            out.setdefault(doc.slug, {})["app"] = {
                "statements": len(captured) / max(1, requests_of_first),
                "plans": plans,
                "floor_plan": floor_plan,
                "index_only": not app_seq,
                "seq_scans": app_seq,
                "floor_index_only": not _seq_scans(floor_plan),
                "floor_seq_scans": _seq_scans(floor_plan),
                "answers": answers,
                "floor_matches": (
                    sum(len(p) for p in answers.values()) - len(mismatches),
                    sum(len(p) for p in answers.values()),
                ),
                "mismatches": mismatches,
                "cursors_wrong": cursors_wrong,
            }
    finally:
        await conn.close()
        await app.state.db.dispose()
    return out


# --- PostGraphile's figures against the app's --------------------------------------------------


def _app_account(answer: dict) -> dict:
    return answer["data"]["viewer"]["personalAccounts"][0]


def _peer_account(answer: dict) -> dict:
    return answer["data"]["personalAccountById"]


def _money(value) -> Decimal:
    return Decimal(value or 0)


def _screen_app(answer: dict) -> tuple:
    a = _app_account(answer)
    return (
        _money(a["debt"]["total"]),
        [(c["category"], _money(c["amount"])) for c in a["debt"]["categories"]],
        a["bills"]["totalCount"],
        _money(a["bills"]["totalAmount"]),
        [
            (e["node"]["number"], e["node"]["status"], _money(e["node"]["amountDue"]), len(e["node"]["lines"]))
            for e in a["bills"]["edges"]
        ],
        a["payments"]["totalCount"],
        _money(a["payments"]["totalAmount"]),
        a["internetPayments"]["totalCount"],
        _money(a["internetPayments"]["totalAmount"]),
        a["lastReading"]["takenOn"],
        a["meter"]["serialNumber"],
    )


def _screen_peer(answer: dict) -> tuple:
    p = _peer_account(answer)
    return (
        _money(p["debtTotal"]),
        [(c["category"], _money(c["amount"])) for c in p["debts"]["nodes"]],
        p["bills"]["totalCount"],
        _money(p["bills"]["aggregates"]["sum"]["amount"]),
        [
            (
                e["node"]["number"],
                e["node"]["allocation"]["status"],
                _money(e["node"]["allocation"]["amountDue"]),
                len(e["node"]["lines"]["nodes"]),
            )
            for e in p["bills"]["edges"]
        ],
        p["payments"]["totalCount"],
        _money(p["payments"]["aggregates"]["sum"]["amount"]),
        p["internetPayments"]["totalCount"],
        _money(p["internetPayments"]["aggregates"]["sum"]["amount"]),
        p["lastReading"]["nodes"][0]["takenOn"],
        p["meter"]["nodes"][0]["serialNumber"],
    )


def _bills_app(answer: dict) -> tuple:
    b = _app_account(answer)["bills"]
    return (
        b["totalCount"],
        b["pageInfo"]["hasNextPage"],
        [
            (
                e["node"]["number"],
                _money(e["node"]["amount"]),
                e["node"]["status"],
                _money(e["node"]["amountDue"]),
                [(line["description"], _money(line["amount"])) for line in e["node"]["lines"]],
            )
            for e in b["edges"]
        ],
    )


def _bills_peer(answer: dict) -> tuple:
    b = _peer_account(answer)["bills"]
    return (
        b["totalCount"],
        b["pageInfo"]["hasNextPage"],
        [
            (
                e["node"]["number"],
                _money(e["node"]["amount"]),
                e["node"]["allocation"]["status"],
                _money(e["node"]["allocation"]["amountDue"]),
                [(line["description"], _money(line["amount"])) for line in e["node"]["lines"]["nodes"]],
            )
            for e in b["edges"]
        ],
    )


def _payments_app(answer: dict) -> tuple:
    a = _app_account(answer)
    return (
        a["payments"]["totalCount"],
        _money(a["payments"]["totalAmount"]),
        [
            (n["node"]["paidOn"], _money(n["node"]["amount"]), n["node"]["channel"], n["node"]["category"])
            for n in a["payments"]["edges"]
        ],
        a["internetPayments"]["totalCount"],
        [
            (int(n["node"]["number"]), _money(n["node"]["amount"]), n["node"]["status"])
            for n in a["internetPayments"]["edges"]
        ],
    )


def _payments_peer(answer: dict) -> tuple:
    p = _peer_account(answer)
    return (
        p["payments"]["totalCount"],
        _money(p["payments"]["aggregates"]["sum"]["amount"]),
        [(n["paidOn"], _money(n["amount"]), n["channel"], n["category"]) for n in p["payments"]["nodes"]],
        p["internetPayments"]["totalCount"],
        [(int(n["number"]), _money(n["amount"]), n["status"]) for n in p["internetPayments"]["nodes"]],
    )


def _readings_app(answer: dict) -> tuple:
    a = _app_account(answer)
    return (
        a["meter"]["serialNumber"],
        a["readings"]["totalCount"],
        [
            (
                e["node"]["takenOn"],
                [v["value"] for v in e["node"]["values"]],
                [v["consumption"] for v in e["node"]["values"]],
            )
            for e in a["readings"]["edges"]
        ],
        [(m["month"], m["kwh"], _money(m["amount"])) for m in a["monthlyConsumption"]],
    )


def _readings_peer(answer: dict) -> tuple:
    p = _peer_account(answer)
    return (
        p["meter"]["nodes"][0]["serialNumber"],
        p["readings"]["totalCount"],
        [(n["takenOn"], n["values"], n["consumptions"]) for n in p["readings"]["nodes"]],
        [(m["month"], int(m["kwh"]), _money(m["amount"])) for m in p["monthlyConsumption"]["nodes"]],
    )


def _mobile_app(answer: dict) -> tuple:
    a = _app_account(answer)
    return a["number"], _money(a["debt"]["total"])


def _mobile_peer(answer: dict) -> tuple:
    p = _peer_account(answer)
    return p["number"], _money(p["debtTotal"])


def _debt_app(answer: dict) -> tuple:
    d = answer["data"]["debtLookup"]["debt"]
    return _money(d["total"]), [(c["category"], _money(c["amount"])) for c in d["categories"]]


def _debt_peer(answer: dict) -> tuple:
    p = answer["data"]["reByCode"]["personalAccountsByResId"]["nodes"][0]
    return _money(p["debtTotal"]), [(c["category"], _money(c["amount"])) for c in p["debts"]["nodes"]]


# The same figures from either answer, per document (the holder's initials are the app's own:
# the bench's holder names are initials already, so PostGraphile's full name is not compared).
FIGURES = {
    "main-screen": (_screen_app, _screen_peer),
    "apollo-main-screen": (_screen_app, _screen_peer),
    "bills-tab": (_bills_app, _bills_peer),
    "payments": (_payments_app, _payments_peer),
    "readings-tab": (_readings_app, _readings_peer),
    "mobile": (_mobile_app, _mobile_peer),
    "debt-lookup": (_debt_app, _debt_peer),
}


def peer_check(
    doc: world.Document,
    answers: dict[int, list[dict]],
    logins: list[world.Login],
    changed: set[int],
    base: str,
    count: int = 10,
) -> tuple[int, int, list[str]]:
    """PostGraphile's figures for the logins the app answered, page by page. Personal accounts
    whose data the meterReadingSubmit run changed after the app answered are left out."""
    app_figures, peer_figures = FIGURES[doc.slug]
    ok, problems = 0, []
    chosen = [l for l in logins if l.personal_account_id in answers and l.personal_account_id not in changed][:count]
    for login in chosen:
        same = True
        for app_answer, variables in zip(
            answers[login.personal_account_id], world.peer_variables_of(doc, login), strict=True
        ):
            body = json.dumps({"query": doc.peer, "variables": variables}).encode()
            request = urllib.request.Request(base + "/graphql", data=body, headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(request, timeout=30) as response:
                peer = json.loads(response.read())
            if "errors" in peer:
                problems.append(f"{login.personal_account_id}: {peer['errors'][0].get('message')}")
                same = False
                break
            if app_figures(app_answer) != peer_figures(peer):
                problems.append(f"{login.personal_account_id}: figures differ")
                same = False
                break
        ok += same
    return ok, len(chosen), problems
