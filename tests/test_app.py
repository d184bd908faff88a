"""The app as a whole: health, the exported schema, error masking, one snapshot per query."""

from __future__ import annotations

import asyncio
import logging

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, event, text

from config import DEMO_DOCUMENT_SECRET, DEMO_LIQPAY_PRIVATE_KEY, DEMO_LIQPAY_PUBLIC_KEY
from models import Terms
from schema import SCHEMA_FILE, schema_sdl
from services.demo import DEMO_PASSWORD, demo_basics


async def test_healthz_answers_once_the_database_is_ready(http):
    response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_exported_schema_is_up_to_date():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), "run `make schema` and commit schema.graphql"


async def test_unexpected_errors_are_masked_with_a_request_id_in_the_log(db, gql, caplog):
    # No user agreement loaded: the resolver fails in a way no client should see.
    async with db.transaction() as s:
        await s.execute(delete(Terms))
    with caplog.at_level(logging.ERROR, logger="cabinet.graphql"):
        result = await gql("{ terms { version } }", headers={"x-request-id": "req-42"})
    error = result["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "load the terms" not in error["message"]
    assert "req-42" in error["message"]
    logged = [r for r in caplog.records if getattr(r, "request_id", None) == "req-42"]
    assert logged and "load the terms" in str(logged[0].exc_info[1])


async def test_syntax_errors_are_reported_as_they_are(gql):
    result = await gql("{ viewer { login ")
    assert "Syntax Error" in result["errors"][0]["message"]


async def test_sibling_fields_share_one_connection_and_one_snapshot(db, settings, gql, app):
    await demo_basics(db, settings)
    await gql.sign_in("lysenko", DEMO_PASSWORD)
    checkouts = []
    engine = app.state.db.engine.sync_engine

    def on_checkout(*args):
        checkouts.append(1)

    event.listen(engine, "checkout", on_checkout)
    try:
        query = (
            "{ "
            + " ".join(
                f"v{i}: viewer {{ login email }} o{i}: oblasts {{ code res {{ code oblast {{ name }} }} }} t{i}: terms {{ version }}"
                for i in range(8)
            )
            + " }"
        )
        result = await gql(query)
    finally:
        event.remove(engine, "checkout", on_checkout)
    assert "errors" not in result, result
    assert all(result["data"][f"v{i}"]["login"] == "lysenko" for i in range(8))
    assert len({str(result["data"][f"o{i}"]) for i in range(8)}) == 1
    assert len(checkouts) == 1


async def test_concurrent_requests_do_not_interfere(db, settings, gql):
    await demo_basics(db, settings)
    tokens = {}
    for login in ("lysenko", "zakharov"):
        tokens[login] = (await gql.sign_in(login, DEMO_PASSWORD))["accessToken"]
    gql.token = None
    results = await asyncio.gather(
        *[gql("{ viewer { login } terms { version } }", token=tokens[login]) for login in ["lysenko", "zakharov"] * 10]
    )
    assert [r["data"]["viewer"]["login"] for r in results] == ["lysenko", "zakharov"] * 10


async def test_graphiql_page_is_served_from_the_app(http):
    response = await http.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    assert "/static/graphiql/graphiql.min.js" in response.text
    assert "cdn" not in response.text.lower() and "unpkg" not in response.text.lower()
    assert response.headers["x-frame-options"] == "DENY"
    asset = await http.get("/static/graphiql/graphiql.min.js")
    assert asset.status_code == 200


async def test_mutations_are_refused_over_get(http):
    response = await http.get(
        "/graphql", params={"query": 'mutation { tokenCreate(login: "a", password: "b") { __typename } }'}
    )
    assert response.status_code in (400, 405)


async def test_the_read_snapshot_is_repeatable_read_and_read_only(db):
    from sqlalchemy import text

    snapshot = db.read_snapshot()
    try:
        row = (
            await snapshot.run(
                lambda s: s.execute(
                    text(
                        "SELECT current_setting('transaction_read_only') AS ro, current_setting('transaction_isolation') AS iso"
                    )
                )
            )
        ).one()
    finally:
        await snapshot.close()
    assert (row.ro, row.iso) == ("on", "repeatable read")


CONTRACT_COPY = SCHEMA_FILE.parent / "docs" / "contract.graphql"
SHARED = SCHEMA_FILE.parent.parent / "shared"


def contract_problems(contract_sdl: str, schema_sdl: str) -> list[str]:
    """What the contract declares that the schema lacks or types differently: every type with
    its kind, every field and argument with its exact type, enum values, union members and
    interfaces (the schema may add more)."""
    import graphql

    contract, ours = graphql.build_schema(contract_sdl), graphql.build_schema(schema_sdl)
    problems = []
    for name, wanted in contract.type_map.items():
        if name.startswith("__"):
            continue
        have = ours.type_map.get(name)
        if have is None or type(have) is not type(wanted):
            problems.append(f"{name}: missing or not a {type(wanted).__name__}")
            continue
        if isinstance(
            wanted, (graphql.GraphQLObjectType, graphql.GraphQLInterfaceType, graphql.GraphQLInputObjectType)
        ):
            for field_name, field in wanted.fields.items():
                mine = have.fields.get(field_name)
                if mine is None or str(mine.type) != str(field.type):
                    problems.append(f"{name}.{field_name}: {mine and mine.type} is not {field.type}")
                    continue
                for arg_name, arg in getattr(field, "args", {}).items():
                    my_arg = mine.args.get(arg_name)
                    if my_arg is None or str(my_arg.type) != str(arg.type):
                        problems.append(f"{name}.{field_name}({arg_name}): {my_arg and my_arg.type} is not {arg.type}")
        if isinstance(wanted, (graphql.GraphQLObjectType, graphql.GraphQLInterfaceType)):
            missing = {i.name for i in wanted.interfaces} - {i.name for i in have.interfaces}
            problems += [f"{name} does not implement {i}" for i in sorted(missing)]
        if isinstance(wanted, graphql.GraphQLEnumType):
            problems += [f"{name}.{v}: missing" for v in sorted(set(wanted.values) - set(have.values))]
        if isinstance(wanted, graphql.GraphQLUnionType):
            missing = {t.name for t in wanted.types} - {t.name for t in have.types}
            problems += [f"{name} lacks member {t}" for t in sorted(missing)]
    return problems


def test_the_exported_schema_holds_the_public_contract():
    # The contract as this checkout keeps it (docs/contract.graphql), so a plain clone checks it too.
    problems = contract_problems(CONTRACT_COPY.read_text(encoding="utf-8"), SCHEMA_FILE.read_text(encoding="utf-8"))
    assert not problems, problems


def test_the_check_finds_what_the_contract_lacks():
    contract = "type Query { a(x: Int!): String! b: Int } enum E { X Y } union U = Query"
    ours = "type Query { a(x: Int): String! } enum E { X } union U = Query"
    assert contract_problems(contract, ours) == [
        "Query.a(x): Int is not Int!",
        "Query.b: None is not Int",
        "E.Y: missing",
    ]


def test_the_kept_contract_is_the_shared_one_where_it_is_beside_the_checkout():
    import subprocess
    import sys

    shared_contract = SHARED / "api" / "contract.graphql"
    if not shared_contract.exists():
        pytest.skip("no shared contract beside this clone to compare the kept copy with (the copy is checked above)")
    assert CONTRACT_COPY.read_text(encoding="utf-8") == shared_contract.read_text(encoding="utf-8"), (
        "docs/contract.graphql differs from the shared contract: copy the new one in"
    )
    checker = SHARED / "tools" / "contract_check.py"
    result = subprocess.run(
        [sys.executable, str(checker), str(SCHEMA_FILE), str(shared_contract)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


PRODUCTION_READY = {
    "production": True,
    "document_link_secret": SecretStr("a-real-secret-of-the-utility"),
    "liqpay_public_key": "i12345678901",
    "liqpay_private_key": SecretStr("a-real-merchant-key"),
    "liqpay_checkout_url": "https://bank.example/api/3/checkout",
    "liqpay_api_url": "https://bank.example/api/request",
}


@pytest.mark.parametrize(
    ("demo_value", "named"),
    [
        ({"document_link_secret": SecretStr(DEMO_DOCUMENT_SECRET)}, "CABINET_DOCUMENT_LINK_SECRET"),
        ({"liqpay_private_key": SecretStr(DEMO_LIQPAY_PRIVATE_KEY)}, "CABINET_LIQPAY_PRIVATE_KEY"),
        ({"liqpay_public_key": DEMO_LIQPAY_PUBLIC_KEY}, "CABINET_LIQPAY_PUBLIC_KEY"),
        ({"liqpay_api_url": ""}, "CABINET_LIQPAY_API_URL"),
        ({"sandbox_bank": True}, "CABINET_SANDBOX_BANK"),
    ],
)
def test_production_refuses_every_demo_secret_by_name(settings, demo_value, named):
    from app import create_app

    configured = settings.model_copy(update={**PRODUCTION_READY, **demo_value})
    with pytest.raises(ValueError, match=named):
        create_app(configured)


async def test_production_starts_with_its_own_secrets(settings):
    from app import create_app

    application = create_app(settings.model_copy(update=PRODUCTION_READY))
    await application.state.db.dispose()


async def test_production_does_not_start_while_an_admin_has_a_published_password(settings, db, monkeypatch):
    import cli
    from app import create_app

    await demo_basics(db, settings)  # the demo's admin, with the published demo password
    configured = settings.model_copy(update={**PRODUCTION_READY, "demo": False})
    application = create_app(configured)
    with pytest.raises(RuntimeError, match="admin login.* admin .*cabinet set-password"):
        async with application.router.lifespan_context(application):
            pass
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    # The operator's command keeps to the policy: no published password, then a real one.
    with pytest.raises(SystemExit):
        await asyncio.to_thread(cli.main, ["set-password", "admin", "--password", "changeme"])
    await asyncio.to_thread(cli.main, ["set-password", "admin", "--password", "a-long-new-admin-phrase"])
    application = create_app(configured)
    async with application.router.lifespan_context(application):
        pass


async def test_create_admin_refuses_a_published_password(settings, db, monkeypatch):
    import cli

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    for password in (DEMO_PASSWORD, "password"):
        with pytest.raises(SystemExit):
            await asyncio.to_thread(
                cli.main, ["create-admin", "root", "--email", "root@uens.example", "--password", password]
            )
    async with db.sessions() as s:
        assert (await s.execute(text("SELECT count(*) FROM account WHERE login = 'root'"))).scalar_one() == 0


@pytest.mark.parametrize("demo", [True, False])
async def test_the_landing_page_says_where_things_are(settings, http, demo):
    settings.demo = demo
    response = await http.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert 'href="/graphql"' in response.text
    assert ("lysenko" in response.text and DEMO_PASSWORD in response.text) is demo


def test_the_production_entry_point_freezes_start_up_and_tunes_the_collector(settings):
    import os
    import subprocess
    import sys

    code = "import gc, asgi; asgi.app_factory(); print(gc.get_freeze_count() > 1000, gc.get_threshold() == asgi.GC_THRESHOLDS)"
    env = {**os.environ, "DATABASE_URL": settings.database_url}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert result.stdout.split() == ["True", "True"], result.stderr[-2000:]
