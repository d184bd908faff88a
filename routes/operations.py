"""Operations endpoints: liveness, readiness, and Prometheus metrics."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import func, select, text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from models import InternetPayment, OutboxMessage
from models.base import OutboxStatus

log = logging.getLogger("cabinet")


class Metrics:
    """One registry per app, so several apps in one process (tests) do not collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "cabinet_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "cabinet_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.errors = Counter(
            "cabinet_graphql_errors_total", "GraphQL errors by code", ["code"], registry=self.registry
        )
        self.outbox_backlog = Gauge("cabinet_outbox_backlog", "Mail waiting to be sent", registry=self.registry)
        self.payments = Gauge(
            "cabinet_internet_payments", "Card payments by status", ["status"], registry=self.registry
        )


class RequestMetrics:
    """Counts and times every HTTP request by its route."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracked_send(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        finally:
            route = _route_label(scope.get("path", ""))
            self.metrics.requests.labels(scope.get("method", ""), route, str(status)).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - started)


def _route_label(path: str) -> str:
    """A bounded label: the first path segment only (ids never become labels)."""
    first = path.strip("/").split("/", 1)[0]
    return (
        "/" + first
        if first
        in {"graphql", "payments", "documents", "sandbox-bank", "healthz", "livez", "readyz", "metrics", "static"}
        else "/other"
    )


async def livez(request: Request) -> Response:
    """The process answers: nothing more is checked."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready to serve: the primary answers and the app is not shutting down. With replicas,
    each one's state as this process last saw it (`ok`, `lagging`, `down`, `promoted`):
    one that is not `ok` is skipped and its reads go to the primary, so the process is
    still ready, and `reads` says where query snapshots go now."""
    if getattr(request.app.state, "stopping", False):
        return JSONResponse({"status": "stopping"}, status_code=503)
    db = request.app.state.db
    pool: Any = db.engine.pool
    # Every pooled connection serving a request: the primary is answering them, and a probe
    # would only wait for one to come back (and could time out into a 503 under load).
    if not (pool.checkedin() == 0 and pool.checkedout() >= pool.size()):
        try:
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # the database is not reachable: not ready
            log.warning("readiness: database unavailable", exc_info=True)
            return JSONResponse({"status": "unavailable"}, status_code=503)
    if db.replicas is None:
        return JSONResponse({"status": "ok"})
    report = db.replicas.report()
    reads = "replicas" if any(r["state"] == "ok" for r in report) else "primary"
    return JSONResponse({"status": "ok", "reads": reads, "replicas": report})


def metrics_allowed(request: Request) -> bool:
    """In production /metrics needs `Authorization: Bearer <CABINET_METRICS_TOKEN>` (Prometheus'
    `authorization` setting), and without a token it is off: its figures are not for the public."""
    settings = request.app.state.settings
    token = settings.metrics_token.get_secret_value()
    if not token:
        return not settings.production
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


async def metrics_endpoint(request: Request) -> Response:
    if not metrics_allowed(request):
        return Response("Not Found", status_code=404, media_type="text/plain")
    metrics: Metrics = request.app.state.metrics
    try:
        async with request.app.state.db.sessions() as session:
            backlog = (
                await session.execute(
                    select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == OutboxStatus.PENDING)
                )
            ).scalar_one()
            by_status = (
                await session.execute(select(InternetPayment.status, func.count()).group_by(InternetPayment.status))
            ).all()
        metrics.outbox_backlog.set(backlog)
        for status, count in by_status:
            metrics.payments.labels(status.value).set(count)
    except Exception:  # metrics must answer even when the database does not
        log.warning("metrics: database figures unavailable", exc_info=True)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
