"""create_app(settings) -> the Starlette app: GraphQL with GraphiQL, health, and the workers."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import orjson
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from strawberry.asgi import GraphQL
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from cabinet.config import Settings
from cabinet.db import Database, create_engine
from cabinet.graphiql import GRAPHIQL_ASSETS, graphiql_page
from cabinet.i18n import pick_language
from cabinet.resolvers.context import RequestContext
from cabinet.routes import payments
from cabinet.schema import schema
from cabinet.services.payment_updates import PaymentUpdates

log = logging.getLogger("cabinet")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
    ),
}


class CabinetGraphQL(GraphQL):
    """Strawberry's ASGI view with our context, JSON encoder and offline GraphiQL."""

    def __init__(self, settings: Settings, db: Database, updates: PaymentUpdates) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql",
            allow_queries_via_get=False,
            multipart_uploads_enabled=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        )
        self.settings = settings
        self.db = db
        self.updates = updates

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        headers = request.headers
        return RequestContext(
            settings=self.settings,
            db=self.db,
            request_id=headers.get("x-request-id") or uuid.uuid4().hex[:16],
            language=pick_language(headers.get("accept-language")),
            client_address=request.client.host if getattr(request, "client", None) else None,
            authorization=headers.get("authorization"),
            request=request,
            response=response,
            updates=self.updates,
        )

    async def render_graphql_ide(self, request: Any) -> Response:
        return Response(graphiql_page(), media_type="text/html", headers=SECURITY_HEADERS)

    def encode_json(self, data: object) -> bytes:  # type: ignore[override]
        return orjson.dumps(data)


def create_app(settings: Settings) -> Starlette:
    """The app on settings.database_url (the CLI starts the embedded server and sets it)."""
    if not settings.database_url:
        raise ValueError("create_app needs settings.database_url")
    db = Database(create_engine(settings.database_url, settings))
    updates = PaymentUpdates(settings.database_url)
    graphql = CabinetGraphQL(settings, db, updates)

    async def healthz(request: Request) -> Response:
        try:
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # the database is not reachable yet: not ready
            log.warning("health check: database unavailable", exc_info=True)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        tasks: list[asyncio.Task] = []
        stop = asyncio.Event()
        if settings.run_workers:
            from cabinet.mail.sender import outbox_worker
            from cabinet.services.reconciliation import reconciliation_worker

            tasks.append(asyncio.create_task(outbox_worker(db, settings, stop), name="outbox"))
            tasks.append(asyncio.create_task(reconciliation_worker(db, settings, stop), name="reconciliation"))
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
            await updates.close()
            await db.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/payments/liqpay/callback", payments.liqpay_callback, methods=["POST"]),
            Route("/payments/return", payments.payment_return, methods=["GET", "POST"]),
            Mount("/static/graphiql", StaticFiles(directory=GRAPHIQL_ASSETS, check_dir=False), name="graphiql"),
        ],
        lifespan=lifespan,
    )
    app.state.db = db
    app.state.settings = settings
    return app
