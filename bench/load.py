"""Servers under test, the load generator (wrk), and CPU accounting from /proc."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "requests.lua"
TICK = os.sysconf("SC_CLK_TCK")


# --- CPU -----------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[int, int, int] | None:
    """(ppid, own ticks, reaped children's ticks) of a process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is state (3rd field of stat); utime is the 14th field -> index 11 here.
    return int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def busy_seconds() -> float:
    """CPU seconds the whole machine has been busy (all cores), from /proc/stat."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICK


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a process, its live descendants, and the children it has reaped."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            s = _stat(int(entry))
            if s is not None:
                stats[int(entry)] = s
    if root not in stats:
        return 0.0
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total = stats[root][2]  # reaped children (e.g. backends that ended) of the root
    stack = [root]
    while stack:
        pid = stack.pop()
        total += stats[pid][1]
        stack.extend(children.get(pid, []))
    return total / TICK


# --- servers -------------------------------------------------------------------------------


@dataclass
class Server:
    name: str
    argv: list[str]
    port: int
    env: dict[str, str]
    ready_path: str
    ready_body: bytes | None = None
    process: subprocess.Popen | None = None
    log: Path | None = None

    def start(self, log_dir: Path, timeout: float = 60.0) -> None:
        self.log = log_dir / f"{self.name}.log"
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            cwd=ROOT,
            env={**os.environ, **self.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; see {self.log}")
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{self.port}{self.ready_path}",
                    data=self.ready_body,
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status < 500:
                        time.sleep(0.5)  # let every worker finish starting
                        return
            except Exception:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.name} did not get ready in {timeout:.0f} s; see {self.log}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def cpu(self) -> float:
        return tree_cpu_seconds(self.pid)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)  # our own session: the server and its workers
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def uvicorn_server(
    name: str,
    factory: str,
    port: int,
    env: dict[str, str],
    workers: int,
    ready_path: str,
    ready_body: bytes | None = None,
) -> Server:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--workers",
        str(workers),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-access-log",
        "--log-level",
        "warning",
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--timeout-graceful-shutdown",
        "5",
    ]
    return Server(name, argv, port, env, ready_path, ready_body)


def node_server(name: str, script: Path, node_modules: Path, port: int, env: dict[str, str], workers: int) -> Server:
    return Server(
        name,
        ["node", str(script)],
        port,
        {**env, "NODE_PATH": str(node_modules), "PORT": str(port), "WORKERS": str(workers), "NODE_ENV": "production"},
        "/graphql",
        b'{"query":"{ __typename }"}',
    )


# --- load ----------------------------------------------------------------------------------


@dataclass
class Result:
    requests: int
    seconds: float
    rate: float  # answered per second
    p50: float  # ms
    p90: float
    p95: float
    p99: float
    max: float
    errors: int
    late: int = 0
    sends: int = 0
    target: float = 0.0
    checks: list[int] = field(default_factory=list)
    app_cpu: float = 0.0  # seconds for the whole run
    db_cpu: float = 0.0
    wrk_cpu: float = 0.0
    other_cpu: float = 0.0  # everything else on the machine (other people's work): noise

    @property
    def other_cores(self) -> float:
        return self.other_cpu / self.seconds if self.seconds else 0.0

    @property
    def late_share(self) -> float:
        return self.late / self.sends if self.sends else 0.0

    @property
    def saturated(self) -> bool:
        """Fixed rate not held: too many sends late, or fewer answers than asked for."""
        if not self.target:
            return False
        # wrk counts what was answered inside its window: allow for the requests in flight at the end.
        expected = self.target * self.seconds
        return self.late_share > 0.01 or self.requests < 0.97 * expected - 3

    def per_request_ms(self, which: str) -> float:
        cpu = self.app_cpu if which == "app" else self.db_cpu
        return 1000 * cpu / self.requests if self.requests else float("nan")


def wrk(
    url: str,
    file: Path,
    *,
    seconds: float,
    connections: int,
    rate: float = 0.0,
    checks: list[str] | None = None,
    threads: int = 1,
    cpu_of=None,
    db_pid=None,
) -> Result:
    """One wrk run; cpu_of()/db_pid give the CPU of the server under test and of PostgreSQL."""
    env = {
        **os.environ,
        "WRK_FILE": str(file),
        "WRK_RATE": str(rate),
        "WRK_THREADS": str(threads),
        "WRK_CHECKS": "|".join(checks or []),
    }
    argv = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(connections),
        "-d",
        f"{seconds:.0f}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
    ]
    app0 = cpu_of() if cpu_of else 0.0
    db0 = tree_cpu_seconds(db_pid) if db_pid else 0.0
    busy0, own0 = busy_seconds(), time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy1, own1 = busy_seconds(), time.process_time()
    app1 = cpu_of() if cpu_of else 0.0
    db1 = tree_cpu_seconds(db_pid) if db_pid else 0.0
    wrk_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    line = next((l for l in done.stdout.splitlines() if l.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout[-2000:]} {done.stderr[-2000:]}")
    data = json.loads(line[len("WRKJSON ") :])
    lat = data["latency_us"]
    seconds_run = data["duration_us"] / 1e6
    errors = sum(data["errors"].values())
    return Result(
        requests=data["requests"],
        seconds=seconds_run,
        rate=data["requests"] / seconds_run,
        p50=lat["p50"] / 1000,
        p90=lat["p90"] / 1000,
        p95=lat["p95"] / 1000,
        p99=lat["p99"] / 1000,
        max=lat["max"] / 1000,
        errors=errors,
        late=data["late"],
        sends=data["sends"],
        target=rate,
        checks=data["checks"],
        app_cpu=app1 - app0,
        db_cpu=db1 - db0,
        wrk_cpu=wrk_cpu,
        other_cpu=max(0.0, (busy1 - busy0) - (app1 - app0) - (db1 - db0) - wrk_cpu - (own1 - own0)),
    )
