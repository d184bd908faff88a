"""`cabinet api-client create|list|revoke`: a key printed once that works, and stops working."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

import cli
from models import ApiClient
from services.api_clients import api_client_create, scopes_parse
from services.errors import InvalidInput, NotFound, OperationRefused
from services.tokens import token_digest
from tests.aggregators.aggregator_helpers import LOOKUP, NUMBER, account_make, api, codes


async def _cli(settings, capsys, *argv: str) -> str:
    """Runs a CLI command as `cabinet` would (its own event loop), on the test's database."""
    args = cli.parser().parse_args(list(argv))
    capsys.readouterr()
    await asyncio.to_thread(args.func, settings, args)
    return capsys.readouterr().out


async def test_create_prints_a_key_that_works_until_revoked(world, db, gql, settings, capsys):
    await account_make(db)
    out = await _cli(settings, capsys, "api-client", "create", "terminal-net", "--scopes", "debt:read,payments:write")
    key = out.strip().splitlines()[-1]
    assert "terminal-net" in out and len(key) >= 43
    async with db.sessions() as s:
        stored = (await s.execute(select(ApiClient))).scalar_one()
    assert stored.key_hash == token_digest(key)
    assert stored.scopes == ["debt:read", "payments:write"]

    looked = await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers=api(key))
    assert looked["data"]["debtLookup"]["holderName"] == "Лысенко А. А."

    listed = await _cli(settings, capsys, "api-client", "list")
    assert "terminal-net\tdebt:read,payments:write" in listed and "active" in listed
    assert key not in listed

    await _cli(settings, capsys, "api-client", "revoke", "terminal-net")
    assert codes(await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers=api(key))) == {"UNAUTHENTICATED"}
    assert "revoked" in await _cli(settings, capsys, "api-client", "list")


async def test_scopes_limit_what_the_key_may_do(world, db, gql, settings, capsys):
    await account_make(db)
    out = await _cli(settings, capsys, "api-client", "create", "lookup-only", "--scopes", "debt:read")
    key = out.strip().splitlines()[-1]
    assert "errors" not in await gql(LOOKUP, {"res": "0101", "number": NUMBER}, headers=api(key))
    assert codes(await gql("{ aggregatorPayments { totalCount } }", headers=api(key))) == {"FORBIDDEN"}


@pytest.mark.parametrize("scopes", ["", "debt:write", "debt:read,admin"])
def test_unknown_scopes_are_refused_by_the_command(scopes, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.parser().parse_args(["api-client", "create", "x", "--scopes", scopes])
    assert exit_.value.code == 2


def test_scopes_parse():
    assert scopes_parse("payments:write, debt:read") == ["debt:read", "payments:write"]
    with pytest.raises(InvalidInput):
        scopes_parse("debt:read,root")


async def test_names_are_unique_and_checked(world, db):
    async with db.transaction() as s:
        await api_client_create(session=s, name="kassa", scopes=["debt:read"])
    with pytest.raises(OperationRefused) as taken:
        async with db.transaction() as s:
            await api_client_create(session=s, name=" kassa ", scopes=["debt:read"])
    assert taken.value.code == "API_CLIENT_NAME_TAKEN"
    for name, code in [("", "REQUIRED"), ("x" * 101, "TOO_LONG"), ("a\x00b", "INVALID_FORMAT")]:
        with pytest.raises(InvalidInput) as bad:
            async with db.transaction() as s:
                await api_client_create(session=s, name=name, scopes=["debt:read"])
        assert bad.value.code == code


async def test_revoking_an_unknown_name_is_not_found(world, settings, capsys):
    with pytest.raises(NotFound):
        await _cli(settings, capsys, "api-client", "revoke", "nobody")


async def test_main_reports_refusals_in_one_line(world, db, settings, capsys, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    async with db.transaction() as s:
        await api_client_create(session=s, name="kassa", scopes=["debt:read"])
    with pytest.raises(SystemExit) as exit_:
        await asyncio.to_thread(cli.main, ["api-client", "create", "kassa", "--scopes", "debt:read"])
    assert exit_.value.code == 2
    assert "refused: API_CLIENT_NAME_TAKEN" in capsys.readouterr().err
