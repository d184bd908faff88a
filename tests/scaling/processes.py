"""API processes and workers as production runs them, each an OS process of its own.

`ApiProcess` runs the production command (`uvicorn --factory asgi:app_factory`) on a free
port of 127.0.0.1 with the environment given; `WorkerProcess` runs `cabinet worker`. Both
can be killed (`kill -9`) or stopped (SIGTERM) mid-run; `stop_all` in a finally makes sure
nothing outlives the test.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests import cluster

ROOT = Path(__file__).resolve().parents[2]


def environment(**variables: str) -> dict[str, str]:
    """The process environment: this one without any database settings of its own, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CABINET_") and k != "DATABASE_URL"}
    env.update({"PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)})
    env.update(variables)
    return env


class OsProcess:
    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._log_file = log.open("ab")
        self.process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """kill -9: no cleanup, no goodbye."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def terminate(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGTERM)

    def wait(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")


class ApiProcess(OsProcess):
    """`uvicorn --factory asgi:app_factory` on 127.0.0.1, ready once /readyz answers 200."""

    def __init__(self, env: dict[str, str], log: Path, *, port: int | None = None, graceful: int = 20) -> None:
        self.port = port or cluster.free_port()
        super().__init__(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "asgi:app_factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--timeout-graceful-shutdown",
                str(graceful),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env,
            log,
        )
        self.url = f"http://127.0.0.1:{self.port}"

    def ready(self, timeout: float = 60) -> ApiProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the API process exited: {self.output()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.1)
        raise TimeoutError(f"the API process at {self.url} is not ready: {self.output()[-2000:]}")


class WorkerProcess(OsProcess):
    """`cabinet worker`: the mail outbox and payment reconciliation."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        super().__init__([sys.executable, "-c", "import cli; cli.main(['worker'])"], env, log)


@contextlib.contextmanager
def stopped_at_the_end() -> Iterator[list[OsProcess]]:
    """A list to put processes in; each is stopped (killed if it will not stop) at the end."""
    processes: list[OsProcess] = []
    try:
        yield processes
    finally:
        for process in processes:
            with contextlib.suppress(Exception):
                process.stop()
