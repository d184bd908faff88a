"""create_app(settings) -> the Starlette app: GraphQL with GraphiQL, health, and the workers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any

import asyncpg
import orjson
from cross_web import HTTPException
from graphql import ExecutionResult, GraphQLError
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult

from config import Settings, production_problems
from db import Database, database_for, retryable
from draining import drain_on_sigterm
from i18n import message, pick_language
from payments.sandbox import sandbox_bank_app
from resolvers.context import RequestContext
from routes import account_pages, documents, landing, operations, payments
from routes.client_address import client_address
from routes.graphiql import GRAPHIQL_ASSETS, graphiql_page
from routes.limits import BodySizeLimit
from routes.operations import Metrics, RequestMetrics
from routes.persisted_queries import PersistedQueries
from routes.request_guard import Refusal, Transport, connection_refusal, request_refusal
from schema import schema
from schema.extensions import RETRY_AFTER_UNAVAILABLE, error_public, service_unavailable_error
from services.admin_passwords import admins_with_published_passwords
from services.payment_updates import PaymentUpdates

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


class TextFrameWebSocketAdapter(ASGIWebSocketAdapter):
    """Every graphql-transport-ws message as a text frame: the protocol's messages are
    JSON text, and the stock graphql-ws client refuses binary frames (orjson gives bytes)."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GuardedTransportWSHandler(BaseGraphQLTransportWSHandler):
    """graphql-transport-ws through the same guard as HTTP: each `subscribe` is checked by
    routes/request_guard.py (only subscriptions run here, input caps, NUL, introspection) and
    by the caller's token afresh, and refused with the protocol's `error` message for its id."""

    async def handle_subscribe(self, message: Any) -> None:
        payload = message.get("payload")
        if not self.connection_acknowledged or message.get("id") in self.operations:
            await super().handle_subscribe(message)  # the protocol's 4401 / 4409 closes
            return
        if not isinstance(payload, dict):
            await self.handle_invalid_message("A subscribe message needs a payload with a query.")
            return
        refusal: GraphQLError | None = None
        connection_refused = await connection_refusal(self.context)
        if connection_refused is not None:
            refusal = error_public(
                GraphQLError(str(connection_refused), original_error=connection_refused), self.context
            )
        else:
            document = await self.view.persisted.document(
                query=payload.get("query"), extensions=payload.get("extensions")
            )
            if document is None:
                await self.handle_invalid_message("A subscribe message needs a payload with a query.")
                return
            if isinstance(document, Refusal):
                refusal = document
            else:
                payload["query"] = document
                refusal = await request_refusal(
                    transport=Transport.WEBSOCKET,
                    query=document,
                    variables=payload.get("variables"),
                    operation_name=payload.get("operationName"),
                    context=self.context,
                )
        if isinstance(refusal, Refusal) and refusal.code == "GRAPHQL_PARSE_FAILED":
            await self.handle_invalid_message(refusal.message[:120])  # the protocol's 4400; reasons are short
            return
        if refusal is not None:
            await self.send_message({"id": message["id"], "type": "error", "payload": [refusal.formatted]})
            return
        await super().handle_subscribe(message)

    async def _handle_pre_execution_error(self, operation: Any, result: Any) -> None:
        # Validation errors of a subscription skip the request scope's policy (no "Did you
        # mean" in production, codes, masking): apply it here, as for HTTP.
        result.errors = [error_public(error, self.context) for error in result.errors]
        await super()._handle_pre_execution_error(operation, result)


class CabinetGraphQL(GraphQL):
    """Strawberry's ASGI view with our context, JSON encoder and offline GraphiQL."""

    websocket_adapter_class = TextFrameWebSocketAdapter
    graphql_transport_ws_handler_class = GuardedTransportWSHandler

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
        self.persisted = PersistedQueries(settings, db)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        request = Request(scope=scope, receive=receive)
        try:
            response = await self.run(request)
            if _accepts_graphql_response(request.headers.get("accept")):
                # GraphQL over HTTP: the newer media type, and 400 for a request that never
                # executed (parse, validation, variable coercion), as process_result marked it.
                response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
                if getattr(request.state, "request_error", False):
                    response.status_code = 400
        except HTTPException as e:
            # Strawberry answers these in plain text; clients parse GraphQL-shaped JSON.
            code = "METHOD_NOT_ALLOWED" if e.status_code == 405 else "BAD_REQUEST"
            body = {"errors": [{"message": e.reason, "extensions": {"code": code}}]}
            response = Response(orjson.dumps(body), status_code=e.status_code, media_type="application/json")
        except (Exception, asyncio.CancelledError) as e:
            task = asyncio.current_task()
            if isinstance(e, asyncio.CancelledError) and task is not None and task.cancelling():
                raise  # the request itself is being cancelled (client gone, shutdown)
            request_id = _request_id(request.headers)
            language = pick_language(request.headers.get("accept-language"))
            if retryable(e):
                # The database is out of reach (or every connection busy) before the executor
                # ran (the caller's lookup, a persisted document): retryable, and said so, not
                # a masked 500.
                log.warning("database unavailable (request %s): %s", request_id, e, extra={"request_id": request_id})
                error = service_unavailable_error(language).formatted
                response = Response(
                    orjson.dumps({"errors": [error]}),
                    status_code=503,
                    media_type="application/json",
                    headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE)},
                )
                await response(scope, receive, send)
                return
            # Whatever escaped the executor's error policy is still masked, with a request id.
            log.error("request failed outside the executor", exc_info=e, extra={"request_id": request_id})
            error = {
                "message": message("INTERNAL_SERVER_ERROR", language, request_id=request_id),
                "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
            }
            response = Response(orjson.dumps({"errors": [error]}), status_code=500, media_type="application/json")
        await response(scope, receive, send)

    def decode_json(self, data: str | bytes) -> object:
        # orjson refuses nesting past 1024 levels with its JSONDecodeError (json's, which
        # Strawberry turns into a 400), where the json module's RecursionError was a bare 500.
        return orjson.loads(data)

    async def process_result(self, request: Any, result: StrawberryExecutionResult) -> Any:
        data = await super().process_result(request, result)
        if (
            isinstance(request, Request)
            and result.data is None
            and result.errors
            and all(error.path is None for error in result.errors)
            and _accepts_graphql_response(request.headers.get("accept"))
        ):
            request.state.request_error = True
            data.pop("data", None)  # the spec's media type: no data entry when nothing ran
        return data

    async def get_context(self, request: Any, response: Any) -> RequestContext:
        headers = request.headers
        return RequestContext(
            settings=self.settings,
            db=self.db,
            request_id=_request_id(headers),
            language=pick_language(headers.get("accept-language")),
            client_address=client_address(request),
            authorization=headers.get("authorization"),
            request=request,
            response=response,
            updates=self.updates,
            # A WebSocket lives long: each of its reads is its own short transaction.
            fresh_reads=isinstance(request, WebSocket),
        )

    async def render_graphql_ide(self, request: Any) -> Response:
        return Response(graphiql_page(), media_type="text/html", headers=SECURITY_HEADERS)

    async def on_ws_connect(self, context: Any) -> Any:
        # graphql-transport-ws: connection_init without a signed-in person's valid token is
        # refused with 4403 Forbidden; the one subscription is a person's payment.
        if await connection_refusal(context) is not None:
            raise ConnectionRejectionError()
        return await super().on_ws_connect(context)

    async def execute_operation(
        self, request: Any, request_adapter: Any, request_data: Any, context: Any, **kwargs: Any
    ):
        document = await self.persisted.document(
            query=getattr(request_data, "query", None), extensions=getattr(request_data, "extensions", None)
        )
        if isinstance(document, Refusal):
            refusal: Refusal | None = document
        else:
            query = request_data.query = document
            refusal = await request_refusal(
                transport=Transport.HTTP,
                query=query,
                variables=getattr(request_data, "variables", None),
                operation_name=getattr(request_data, "operation_name", None),
                context=context,
            )
        if refusal is not None:
            await context.snapshot_end()  # opened to look up the caller; nothing else will close it
            if refusal.malformed:
                raise HTTPException(400, refusal.message)
            return ExecutionResult(data=None, errors=[refusal])
        result = await super().execute_operation(
            request=request, request_adapter=request_adapter, request_data=request_data, context=context, **kwargs
        )
        if context.replica_lost():
            # Part of the answer came from a replica that then failed: the whole query once
            # more, on the primary, so the answer is still one moment's and nothing fails.
            context.on_primary_from_scratch()
            result = await super().execute_operation(
                request=request, request_adapter=request_adapter, request_data=request_data, context=context, **kwargs
            )
        context.release()
        return result

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


GRAPHQL_RESPONSE_JSON = "application/graphql-response+json; charset=utf-8"


def _request_id(headers: Mapping[str, str]) -> str:
    """The client's X-Request-Id, or a new one: what the log and a masked error both name."""
    return headers.get("x-request-id") or secrets.token_hex(8)


def _accepts_graphql_response(accept: str | None) -> bool:
    """Whether the client asks for application/graphql-response+json (GraphQL over HTTP);
    plain application/json clients keep the legacy 200 answers."""
    return accept is not None and "application/graphql-response+json" in accept


async def database_trouble(request: Request, error: Exception) -> Response:
    """Outside GraphQL (PDF links, the bank's callback, the return pages) a database out of
    reach, or every pooled connection busy, is a retryable 503 as it is in GraphQL, not
    Starlette's bare 500; any other error goes on to the server's masked 500."""
    if request.scope["type"] != "http" or not retryable(error):
        raise error
    request_id = _request_id(request.headers)
    log.warning("database unavailable (request %s): %s", request_id, error, extra={"request_id": request_id})
    return PlainTextResponse(
        message("SERVICE_UNAVAILABLE", pick_language(request.headers.get("accept-language"))),
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_UNAVAILABLE), "Cache-Control": "no-store"},
    )


# What a database in trouble raises: SQLAlchemy's errors (the pool's timeout among them), the
# driver's, and the way to the server's.
DATABASE_TROUBLE = (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


def create_app(settings: Settings) -> Starlette:
    """The app on settings.database_url (the CLI starts the embedded server and sets it)."""
    if not settings.database_url:
        raise ValueError("create_app needs settings.database_url")
    if problems := production_problems(settings):
        raise ValueError("not ready for production: " + "; ".join(problems))
    db = database_for(settings)
    # LISTEN holds a server session: a direct connection, never through a transaction pooler.
    updates = PaymentUpdates(settings.listen_url)
    metrics = Metrics()
    graphql = CabinetGraphQL(settings, db, updates)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if settings.production and not settings.demo:
            async with db.sessions() as session:
                published = await admins_with_published_passwords(session=session, settings=settings)
            if published:
                await db.dispose()
                raise RuntimeError(
                    "not ready for production: admin login(s) "
                    + ", ".join(published)
                    + " still have a published password; set a new one with `cabinet set-password LOGIN`"
                )
        tasks: list[asyncio.Task] = []
        stop = asyncio.Event()
        if db.replicas is not None:
            await db.replicas.check()  # the replicas serve from the first request on
            tasks.append(asyncio.create_task(db.replicas.watch(stop), name="replicas"))
        undrain = drain_on_sigterm(app, settings.shutdown_drain)
        if settings.run_workers:
            from workers.outbox import outbox_worker
            from workers.reconciliation import reconciliation_worker

            tasks.append(asyncio.create_task(outbox_worker(db, settings, stop), name="outbox"))
            tasks.append(asyncio.create_task(reconciliation_worker(db, settings, stop), name="reconciliation"))
        try:
            yield
        finally:
            undrain()
            app.state.stopping = True
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(task, timeout=10)
            await updates.close()
            await db.dispose()

    app = Starlette(
        routes=[
            Route("/", landing.landing, methods=["GET"]),
            Route("/healthz", operations.readyz, methods=["GET"]),
            Route("/readyz", operations.readyz, methods=["GET"]),
            Route("/livez", operations.livez, methods=["GET"]),
            Route("/metrics", operations.metrics_endpoint, methods=["GET"]),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/payments/liqpay/callback", payments.liqpay_callback, methods=["POST"]),
            Route("/payments/return", payments.payment_return, methods=["GET", "POST"]),
            Route("/payments/return/status", payments.payment_return_status, methods=["GET"]),
            # Where mail links land while the app is its own frontend (CABINET_FRONTEND_URL unset).
            Route("/password-reset", account_pages.password_reset_page, methods=["GET"]),
            Route("/email-confirm", account_pages.email_confirm_page, methods=["GET"]),
            Route("/documents/{kind}/{id}", documents.document_get, methods=["GET"]),
            Mount("/static/graphiql", StaticFiles(directory=GRAPHIQL_ASSETS, check_dir=False), name="graphiql"),
            # The project's own bank (LiqPay's protocol, the same keys), where checkout_url
            # and bank_api_url point by default: the whole payment flow on one machine.
            *([Mount("/sandbox-bank", app=sandbox_bank_app(settings))] if settings.sandbox_bank else []),
        ],
        lifespan=lifespan,
        middleware=[Middleware(RequestMetrics, metrics=metrics), Middleware(BodySizeLimit)],
        exception_handlers=dict.fromkeys(DATABASE_TROUBLE, database_trouble),
    )
    app.state.db = db
    app.state.metrics = metrics
    app.state.stopping = False
    app.state.settings = settings
    return app
