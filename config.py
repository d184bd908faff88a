"""Settings, read from the environment with the prefix CABINET_ (DATABASE_URL as is)."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal
from functools import cached_property
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kyiv import KYIV, kyiv_now, kyiv_today

DEMO_DOCUMENT_SECRET = "demo-only-document-link-secret-set-CABINET_DOCUMENT_LINK_SECRET"
# The sandbox bank's keys: published in this repository, so anyone could sign a callback.
DEMO_LIQPAY_PUBLIC_KEY = "sandbox_i00000000"
DEMO_LIQPAY_PRIVATE_KEY = "sandbox_private_key_for_demo_only"
REPLICA_URL_SEPARATOR = re.compile(r",\s*(?=[a-z][a-z0-9+]*://)")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CABINET_", extra="ignore")

    # Where the embedded PostgreSQL keeps its data, and the mail folder in the demo.
    data_dir: Path = Path("var")
    # A PostgreSQL URL; when empty, the embedded server in data_dir is used.
    database_url: str = Field(default="", validation_alias=AliasChoices("DATABASE_URL", "CABINET_DATABASE_URL"))
    host: str = "127.0.0.1"
    port: int = 8000
    # "Today" for periods, reading dates and due dates; Kyiv's date when unset.
    business_date: dt.date | None = None
    # Demo deployments show introspection to everyone and load the manual's data.
    demo: bool = False
    # The production switch: hides field suggestions and anonymous introspection.
    production: bool = False

    # Run the outbox (and later reconciliation) workers inside the web process, as `make run` does.
    run_workers: bool = False
    # On SIGTERM, /readyz answers 503 this many seconds (requests still served) before the server
    # stops: the load balancer's time to notice. 0: stop at once (no balancer in front).
    shutdown_drain: float = 0.0

    # Connections per process, all kept open: an overflow connection is closed as it comes back,
    # so under load each request past the pool would open (and prepare) one of its own and the
    # p95 fall off a cliff (README, Performance). No overflow by default; a request that finds every
    # connection busy waits its turn, up to db_pool_timeout seconds, then gets a retryable 503.
    db_pool_size: int = 10
    db_max_overflow: int = 0
    db_pool_timeout: float = 10.0
    # PgBouncer in transaction mode in front (older than 1.21, it keeps no prepared statements
    # across transactions): statements are prepared unnamed, in their transaction, never cached.
    db_pgbouncer: bool = False
    # LISTEN needs a session of its own on the server, which a transaction-mode pooler cannot
    # give: the direct address of the primary for live payment status (default DATABASE_URL).
    database_listen_url: str = ""
    # Streaming replicas for query requests' read snapshots: a JSON list or comma-separated URLs.
    database_replica_urls: str = ""
    # A replica further behind than this many seconds, or not answering, is skipped (reads go
    # to the primary).
    database_replica_max_lag: float = 2.0
    # How often (seconds) each process asks the primary and the replicas where their WAL is.
    database_replica_check_interval: float = 0.25

    access_token_ttl: dt.timedelta = dt.timedelta(minutes=15)
    refresh_token_ttl: dt.timedelta = dt.timedelta(days=30)

    # Argon2id, OWASP's recommended profile (m=19 MiB, t=2, p=1).
    argon2_memory_kib: int = 19 * 1024
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    # Queries walked by schema/execution.py (graphql-core's executor behind it); off: graphql-core only.
    lean_queries: bool = True

    # Only documents registered from a frontend's manifest run (`cabinet trusted-documents
    # load`); any other text, and automatic persisted-query registration, is refused.
    trusted_documents_only: bool = False

    # A reading implying more than this load around the clock is implausible.
    reading_cap_kw: int = 10

    # Per login and per evidence target (personal account): failures before delays start, the
    # first delay (it doubles with each further failure) and its cap.
    throttle_free_failures: int = 5
    throttle_base_delay: dt.timedelta = dt.timedelta(seconds=2)
    throttle_max_delay: dt.timedelta = dt.timedelta(minutes=15)
    # Per client address, over the last hour. Counted in distinct logins, personal accounts and
    # emails, so a household's typos or one NAT stay far below and credential stuffing does not.
    throttle_address_failed_logins_per_hour: int = 50
    throttle_address_failed_evidence_per_hour: int = 10
    throttle_address_registrations_per_hour: int = 10
    throttle_address_taken_logins_per_hour: int = 20
    # Registrations naming one email in an hour (each can send that address a letter).
    throttle_email_registrations_per_hour: int = 3
    # Proxies whose X-Forwarded-For is believed: comma-separated addresses or networks, as
    # uvicorn's forwarded_allow_ips. Empty: none, the socket's address is the client's.
    trusted_proxies: str = ""

    # Outgoing mail: SMTP when smtp_host is set, otherwise .eml files in data_dir/mail.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    mail_from: str = "UENS <no-reply@uens.example>"
    mail_max_attempts: int = 12  # ~14 hours of retries at a 30 s base
    mail_retry_base: dt.timedelta = dt.timedelta(seconds=30)
    mail_poll_interval: float = 2.0

    # The API's own public address: the bank's callbacks, document links, the payment return
    # page. Never taken from a request's Host header.
    public_url: str = "http://127.0.0.1:8000"
    # Where people click: links in mail, the return page's way back, returnUrl's allow-list.
    # Unset, it is public_url, where the app serves minimal account pages itself (the demo).
    frontend_url: str = ""

    # Signed links to bill and receipt PDFs (/documents/…): HMAC-SHA256 with this secret, valid
    # for the TTL. Every process of a deployment must share the secret; production must set its own.
    document_link_secret: SecretStr = SecretStr(DEMO_DOCUMENT_SECRET)
    document_link_ttl: dt.timedelta = dt.timedelta(minutes=15)
    # /metrics: open outside production; in production only with this bearer token (off without).
    metrics_token: SecretStr = SecretStr("")

    # Card payments (LiqPay's Checkout protocol). The defaults point at the
    # project's own sandbox bank, mounted at /sandbox-bank when sandbox_bank is on.
    liqpay_public_key: str = DEMO_LIQPAY_PUBLIC_KEY
    liqpay_private_key: SecretStr = SecretStr(DEMO_LIQPAY_PRIVATE_KEY)
    liqpay_algorithm: str = "sha1"
    liqpay_checkout_url: str = ""  # default: {public_url}/sandbox-bank/api/3/checkout
    liqpay_api_url: str = ""  # default: {public_url}/sandbox-bank/api/request
    # `sandbox` callbacks count as success only in a sandbox deployment.
    sandbox_bank: bool = False
    payment_ttl: dt.timedelta = dt.timedelta(minutes=15)
    payment_max_amount: Decimal = Decimal("100000.00")
    # Where the bank sends the person back: a returnUrl must be under one of these, under
    # CABINET_FRONTEND_URL when that is set, or be the cabinet's own return page.
    payment_return_urls: list[str] = []
    # Open payments older than this are asked about at the bank's status API.
    payment_poll_after: dt.timedelta = dt.timedelta(minutes=2)
    payment_poll_interval: float = 10.0

    @property
    def checkout_url(self) -> str:
        return self.liqpay_checkout_url or f"{self.public_url}/sandbox-bank/api/3/checkout"

    @property
    def bank_api_url(self) -> str:
        return self.liqpay_api_url or f"{self.public_url}/sandbox-bank/api/request"

    @property
    def payment_callback_url(self) -> str:
        return f"{self.public_url}/payments/liqpay/callback"

    @property
    def payment_result_url(self) -> str:
        return f"{self.public_url}/payments/return"

    @property
    def frontend_root(self) -> str:
        """The frontend's address without a trailing slash, for links people follow."""
        return (self.frontend_url or self.public_url).rstrip("/")

    @property
    def replica_urls(self) -> list[str]:
        """CABINET_DATABASE_REPLICA_URLS as a list: JSON, or URLs separated by commas (a comma
        inside a URL, as in libpq's multi-host form, is not a separator)."""
        text = self.database_replica_urls.strip()
        if not text:
            return []
        if text.startswith("["):
            return [str(url).strip() for url in json.loads(text) if str(url).strip()]
        return [url.strip() for url in REPLICA_URL_SEPARATOR.split(text) if url.strip()]

    @property
    def listen_url(self) -> str:
        return self.database_listen_url or self.database_url

    @cached_property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    def today(self) -> dt.date:
        """The business date: configured, or today in Kyiv."""
        if self.business_date is not None:
            return self.business_date
        return kyiv_today()

    def now(self) -> dt.datetime:
        """The moment for new records people see (card payments, the bank's page): the real
        time of day on the business date, so a pinned date's payments fall on that very day.

        A pinned date repeats one day: just after real midnight the clock is back at 00:00
        of it. Sessions and links keep the real clock (a browser compares them with its own).
        """
        moment = kyiv_now()
        if self.business_date is not None:
            moment = dt.datetime.combine(self.business_date, moment.time(), KYIV)
        return moment.astimezone(dt.UTC)


def production_problems(settings: Settings) -> list[str]:
    """What keeps these settings from production: each demo secret still in place, by the
    environment variable that must replace it. Empty when not in production."""
    if not settings.production:
        return []
    problems = []
    if settings.sandbox_bank:
        problems.append("CABINET_SANDBOX_BANK must be off: its `sandbox` successes are not money")
    if settings.document_link_secret.get_secret_value() == DEMO_DOCUMENT_SECRET:
        problems.append("set CABINET_DOCUMENT_LINK_SECRET: the demo secret would let anyone sign document links")
    if settings.liqpay_private_key.get_secret_value() == DEMO_LIQPAY_PRIVATE_KEY:
        problems.append("set CABINET_LIQPAY_PRIVATE_KEY: the sandbox key would let anyone sign a bank callback")
    if settings.liqpay_public_key == DEMO_LIQPAY_PUBLIC_KEY:
        problems.append("set CABINET_LIQPAY_PUBLIC_KEY: the sandbox key names no merchant")
    if not settings.liqpay_checkout_url or not settings.liqpay_api_url:
        problems.append(
            "set CABINET_LIQPAY_CHECKOUT_URL and CABINET_LIQPAY_API_URL: the defaults are the sandbox bank's"
        )
    return problems
