"""The `cabinet` command: run, migrate, demo, create-admin, set-password, block, import, api-client,
trusted-documents, worker."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import sys
from collections.abc import Iterator

from config import Settings
from db import Database, EmbeddedPostgres, create_engine, migrate
from logs import logging_setup


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL when set; otherwise the embedded PostgreSQL in the data folder, stopped on exit."""
    if settings.database_url:
        yield settings.database_url
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield url
    finally:
        embedded.stop()


def with_database(settings: Settings, url: str) -> Settings:
    return settings.model_copy(update={"database_url": url})


async def _with_db(settings: Settings, work) -> None:
    db = Database(create_engine(settings.database_url, settings))
    try:
        await work(db)
    finally:
        await db.dispose()


def cmd_run(settings: Settings, args: argparse.Namespace) -> None:
    import uvicorn

    from app import create_app
    from routes.client_address import uvicorn_proxy_options

    with database_url(settings) as url:
        migrate(url)
        settings = with_database(settings, url)
        if settings.demo:
            from services.demo import DEMO_PASSWORD, LOGINS, demo_load

            asyncio.run(_with_db(settings, lambda db: demo_load(db, settings)))
            logins = ", ".join(login for login, *_ in LOGINS)
            print(
                f"Demo loaded (business date {settings.business_date}): logins {logins}, password {DEMO_PASSWORD}",
                flush=True,
            )
        if settings.sandbox_bank and "public_url" not in settings.model_fields_set:
            # The sandbox bank calls back to public_url: follow CABINET_HOST/PORT unless it is set.
            settings = settings.model_copy(update={"public_url": f"http://{settings.host}:{settings.port}"})
        app = create_app(settings)
        print(f"GraphiQL: http://{settings.host}:{settings.port}/graphql", flush=True)
        if settings.sandbox_bank:
            print(f"Sandbox bank (test cards only): {settings.public_url}/sandbox-bank/", flush=True)
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_level="info",
            log_config=None,  # logs.py's JSON lines for uvicorn's loggers too
            timeout_graceful_shutdown=10,
            **uvicorn_proxy_options(settings),
        )


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> None:
    with database_url(settings) as url:
        migrate(url)
        print("migrated")


def cmd_demo(settings: Settings, args: argparse.Namespace) -> None:
    from services.demo import demo_load

    with database_url(settings) as url:
        migrate(url)
        settings = with_database(settings, url)
        asyncio.run(_with_db(settings, lambda db: demo_load(db, settings)))
        print("demo data loaded")


def cmd_create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from models.base import AccountStatus, Role
    from services.accounts import account_create
    from services.admin_passwords import operator_password_check

    password = args.password or getpass.getpass("Password: ")
    operator_password_check(password, login=args.login, email=args.email)

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            await account_create(
                session=session,
                settings=settings,
                login=args.login,
                password=password,
                full_name=args.full_name,
                email=args.email,
                phones=[],
                role=Role.ADMIN,
                status=AccountStatus.ACTIVE,
            )

    with database_url(settings) as url:
        settings = with_database(settings, url)
        asyncio.run(_with_db(settings, work))
        print(f"admin {args.login} created")


def cmd_set_password(settings: Settings, args: argparse.Namespace) -> None:
    import datetime as dt

    from services.admin_passwords import password_set

    password = args.password or getpass.getpass("New password: ")

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            await password_set(
                session=session, settings=settings, login=args.login, new_password=password, now=dt.datetime.now(dt.UTC)
            )

    with database_url(settings) as url:
        settings = with_database(settings, url)
        asyncio.run(_with_db(settings, work))
        print(f"password of {args.login} set; its sessions ended")


def cmd_trusted_documents_load(settings: Settings, args: argparse.Namespace) -> None:
    import json
    from pathlib import Path

    from services.trusted_documents import ManifestError, manifest_documents, trusted_documents_load

    try:
        documents = manifest_documents(json.loads(Path(args.file).read_text(encoding="utf-8")))
    except (ManifestError, ValueError) as e:
        print(f"refused: {e}", file=sys.stderr)
        sys.exit(2)
    new = 0

    async def work(db: Database) -> None:
        nonlocal new
        async with db.transaction() as session:
            new = await trusted_documents_load(session=session, documents=documents)

    with database_url(settings) as url:
        settings = with_database(settings, url)
        asyncio.run(_with_db(settings, work))
        print(f"{len(documents)} documents in the manifest, {new} new")


def cmd_block(settings: Settings, args: argparse.Namespace) -> None:
    from models.base import AccountStatus
    from services.accounts import account_set_status

    status = AccountStatus.ACTIVE if args.unblock else AccountStatus.BLOCKED

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            await account_set_status(session=session, login=args.login, status=status)

    with database_url(settings) as url:
        settings = with_database(settings, url)
        asyncio.run(_with_db(settings, work))
        print(f"{args.login}: {status.value}")


def cmd_import(settings: Settings, args: argparse.Namespace) -> None:
    """Apply one CSV of the utility's records, whole or not at all."""
    from tqdm import tqdm

    from services.importing import ImportRejected, import_csv

    async def work(db: Database) -> None:
        with (
            open(args.file, encoding="utf-8", newline="") as stream,
            tqdm(desc=f"{args.kind}", unit=" rows", disable=args.quiet) as bar,
        ):
            async with db.transaction() as session:
                report = await import_csv(session=session, kind=args.kind, stream=stream, progress=bar.update)
        print(
            f"{args.kind}: {report.rows} rows, {report.inserted} new, "
            f"{report.updated} updated, {report.unchanged} unchanged"
        )

    with database_url(settings) as url:
        settings = with_database(settings, url)
        try:
            asyncio.run(_with_db(settings, work))
        except ImportRejected as e:
            for problem in e.report.errors:
                print(f"{args.file}:{problem.line}: {problem.message}", file=sys.stderr)
            print(f"{args.kind}: rejected, nothing applied ({len(e.report.errors)} bad rows)", file=sys.stderr)
            sys.exit(1)


def cmd_worker(settings: Settings, args: argparse.Namespace) -> None:
    """The background work of a deployment: sending mail and reconciling card payments."""
    from workers.outbox import outbox_worker
    from workers.reconciliation import reconciliation_worker

    async def work(db: Database) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        import signal

        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await asyncio.gather(outbox_worker(db, settings, stop), reconciliation_worker(db, settings, stop))

    with database_url(settings) as url:
        settings = with_database(settings, url)
        asyncio.run(_with_db(settings, work))


def _scopes_arg(text: str) -> list[str]:
    from services.api_clients import SCOPES

    given = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in given if s not in SCOPES]
    if not given or unknown:
        raise argparse.ArgumentTypeError(f"give one or more of {','.join(SCOPES)} (got {text!r})")
    return given


def _api_client_work(settings: Settings, work) -> None:
    with database_url(settings) as url:
        asyncio.run(_with_db(with_database(settings, url), work))


def cmd_api_client_create(settings: Settings, args: argparse.Namespace) -> None:
    """Make an aggregator's client; its key is printed once and stored only as SHA-256."""
    from services.api_clients import api_client_create

    made: dict = {}

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            made["client"], made["key"] = await api_client_create(session=session, name=args.name, scopes=args.scopes)

    _api_client_work(settings, work)
    client = made["client"]
    print(f"api client {client.name} created with scopes {','.join(client.scopes)}")
    print("its key, shown only this once (send it as `Authorization: ApiKey <key>`):")
    print(made["key"])


def cmd_api_client_list(settings: Settings, args: argparse.Namespace) -> None:
    from services.api_clients import api_clients_list

    found: list = []

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            found.extend(await api_clients_list(session=session))

    _api_client_work(settings, work)
    if not found:
        print("no api clients")
    for c in found:
        state = f"revoked {c.revoked_at:%Y-%m-%d %H:%M}" if c.revoked_at else "active"
        print(f"{c.name}\t{','.join(c.scopes)}\tcreated {c.created_at:%Y-%m-%d %H:%M}\t{state}")


def cmd_api_client_revoke(settings: Settings, args: argparse.Namespace) -> None:
    import datetime as dt

    from services.api_clients import api_client_revoke

    async def work(db: Database) -> None:
        async with db.transaction() as session:
            await api_client_revoke(session=session, name=args.name, now=dt.datetime.now(dt.UTC))

    _api_client_work(settings, work)
    print(f"api client {args.name} revoked: its key no longer works")


def _import_kinds() -> tuple[str, ...]:
    from services.importing import KINDS

    return KINDS


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cabinet", description="UENS personal cabinet")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="migrate, load the demo when CABINET_DEMO=1, and serve").set_defaults(func=cmd_run)
    sub.add_parser("migrate", help="apply the database migrations").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load the manual's demo data (idempotent)").set_defaults(func=cmd_demo)
    admin = sub.add_parser("create-admin", help="create an admin login")
    admin.add_argument("login")
    admin.add_argument("--email", required=True)
    admin.add_argument("--full-name", default="Адміністратор")
    admin.add_argument("--password", help="asked for when omitted")
    admin.set_defaults(func=cmd_create_admin)
    set_password = sub.add_parser("set-password", help="set a login's password (ends its sessions)")
    set_password.add_argument("login")
    set_password.add_argument("--password", help="asked for when omitted")
    set_password.set_defaults(func=cmd_set_password)
    block = sub.add_parser("block", help="block a login (or --unblock it)")
    block.add_argument("login")
    block.add_argument("--unblock", action="store_true")
    block.set_defaults(func=cmd_block)
    imports = sub.add_parser("import", help="import a CSV of the utility's records (see README)")
    imports.add_argument("kind", choices=_import_kinds())
    imports.add_argument("file")
    imports.add_argument("--quiet", action="store_true", help="no progress bar")
    imports.set_defaults(func=cmd_import)
    sub.add_parser("worker", help="send queued mail and reconcile card payments").set_defaults(func=cmd_worker)
    trusted = sub.add_parser("trusted-documents", help="the frontend's registered operations (persisted queries)")
    trusted_sub = trusted.add_subparsers(dest="action", required=True)
    trusted_load = trusted_sub.add_parser(
        "load", help="register the documents of a manifest file (Apollo's or Codegen's)"
    )
    trusted_load.add_argument("file")
    trusted_load.set_defaults(func=cmd_trusted_documents_load)
    api = sub.add_parser("api-client", help="aggregators' API keys: create, list, revoke")
    api_sub = api.add_subparsers(dest="action", required=True)
    api_create = api_sub.add_parser("create", help="make a client and print its key once")
    api_create.add_argument("name")
    api_create.add_argument(
        "--scopes", required=True, type=_scopes_arg, help="comma-separated: debt:read,payments:write"
    )
    api_create.set_defaults(func=cmd_api_client_create)
    api_sub.add_parser("list", help="clients, their scopes and state").set_defaults(func=cmd_api_client_list)
    api_revoke = api_sub.add_parser("revoke", help="stop a client's key at once")
    api_revoke.add_argument("name")
    api_revoke.set_defaults(func=cmd_api_client_revoke)
    return p


def main(argv: list[str] | None = None) -> None:
    logging_setup()
    args = parser().parse_args(argv)
    settings = Settings()
    try:
        args.func(settings, args)
    except KeyboardInterrupt:
        pass
    except Exception as e:  # a CLI user gets one line, not a trace
        from services.errors import DomainError

        if isinstance(e, DomainError):
            print(f"refused: {e.code}", file=sys.stderr)
            sys.exit(2)
        raise


if __name__ == "__main__":
    main()
