"""Streaming replicas for the read snapshots of query requests, and how each process knows them.

Every process watches its replicas itself (`ReplicaSet.watch`): a few times a second it
asks the primary where its WAL is and each replica how far it has replayed. A replica is
used when it answered the last check, is a replica still (not promoted), and lags less
than `CABINET_DATABASE_REPLICA_MAX_LAG`. Lag is time: how long ago the primary was first
seen past the point the replica has replayed (an idle primary gives no lag).

Reading one's own writes: after a signed-in person's mutation commits, the primary's WAL
position is stamped on their login (`account.read_after_lsn`, see `stamp_read_after`);
their queries use a replica only once the last check saw it replay that far, so until
then they read on the primary. What the checks saw is older than what the replica has, so
the choice errs towards the primary, never towards a stale answer.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

log = logging.getLogger(f"cabinet.{__name__}")

PRIMARY_POSITION = text("SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
REPLICA_POSITION = text(
    "SELECT pg_is_in_recovery(), (COALESCE(pg_last_wal_replay_lsn(), '0/0'::pg_lsn) - '0/0'::pg_lsn)::bigint"
)
READ_AFTER_STAMP = text(
    "UPDATE account SET read_after_lsn = (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint WHERE id = :id"
)
# How long a check may wait for an answer before the replica counts as down.
CHECK_TIMEOUT = 2.0


@dataclass(eq=False)
class Replica:
    """One replica as this process last saw it."""

    number: int
    engine: AsyncEngine
    # The checks' own engine (one connection), so that requests holding every pooled connection
    # never make the replica look down; the requests' engine when not given.
    checks: AsyncEngine | None = None
    state: str = "unknown"  # unknown, ok, lagging, down, promoted
    replayed: int = -1  # WAL position replayed (bytes since 0/0) at the last check
    lag: float | None = None  # seconds
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.state == "ok"

    def report(self) -> dict:
        answer: dict = {"replica": self.number, "state": self.state}
        if self.lag is not None:
            answer["lagSeconds"] = round(self.lag, 3)
        return answer


@dataclass(eq=False)
class ReplicaSet:
    """The replicas of one process, the primary beside them."""

    primary: AsyncEngine
    replicas: list[Replica]
    max_lag: float
    interval: float
    # Where the checks ask the primary's position (a connection of their own, as Replica.checks).
    primary_checks: AsyncEngine | None = None
    # (monotonic time, primary WAL position) of recent checks, oldest first.
    _positions: collections.deque = field(default_factory=collections.deque)
    _turn: itertools.count = field(default_factory=itertools.count)

    def choose(self, *, read_after: int | None = None) -> Replica | None:
        """A usable replica that has replayed `read_after`, taken in turn; None: the primary."""
        candidates = [r for r in self.replicas if r.usable and (read_after is None or r.replayed >= read_after)]
        if not candidates:
            return None
        return candidates[next(self._turn) % len(candidates)]

    def lost(self, replica: Replica, error: BaseException) -> None:
        """A request found the replica gone: skip it until a check sees it again."""
        if replica.state != "down":
            log.warning("replica %s lost: %s; reading on the primary", replica.number, error)
        replica.state, replica.reason = "down", type(error).__name__

    def report(self) -> list[dict]:
        return [r.report() for r in self.replicas]

    async def check(self) -> None:
        """One round: where the primary is, then each replica (concurrently)."""
        try:
            async with (self.primary_checks or self.primary).connect() as connection:
                position = (await asyncio.wait_for(connection.execute(PRIMARY_POSITION), CHECK_TIMEOUT)).scalar_one()
        except Exception:  # noqa: BLE001  the primary's own trouble shows in /readyz and the requests
            return
        now = time.monotonic()
        self._positions.append((now, position))
        keep = self.max_lag * 2 + self.interval * 4 + 1
        while len(self._positions) > 2 and self._positions[0][0] < now - keep:
            self._positions.popleft()
        await asyncio.gather(*(self._check_one(replica, now) for replica in self.replicas))

    async def _check_one(self, replica: Replica, now: float) -> None:
        try:
            async with (replica.checks or replica.engine).connect() as connection:
                row = (await asyncio.wait_for(connection.execute(REPLICA_POSITION), CHECK_TIMEOUT)).one()
        except Exception as error:  # noqa: BLE001  down, restarting, unreachable: all mean "skip it"
            if replica.state != "down":
                log.warning("replica %s not answering: %s; reading on the primary", replica.number, error)
                # Its pooled connections are dead; new ones are made when it is back.
                for engine in {replica.engine, replica.checks or replica.engine}:
                    with contextlib.suppress(Exception):
                        await engine.dispose()
            replica.state, replica.reason, replica.lag = "down", type(error).__name__, None
            return
        in_recovery, replayed = row
        if not in_recovery:
            # A promoted replica is a primary of its own: its data has left ours.
            replica.state, replica.reason, replica.lag = "promoted", "not in recovery", None
            return
        replica.replayed = replayed
        replica.lag = self._lag(replayed, now)
        state = "ok" if replica.lag <= self.max_lag else "lagging"
        if state != replica.state:
            log.info("replica %s %s (lag %.3f s)", replica.number, state, replica.lag)
        replica.state, replica.reason = state, ""

    def _lag(self, replayed: int, now: float) -> float:
        """Seconds since the primary was first seen past `replayed` (0 when it never was)."""
        for seen_at, position in self._positions:
            if position > replayed:
                return max(0.0, now - seen_at)
        return 0.0

    async def watch(self, stop: asyncio.Event) -> None:
        """Check until `stop` is set."""
        while not stop.is_set():
            try:
                await self.check()
            except Exception:  # noqa: BLE001  a failed round is retried at the next tick
                log.exception("replica check failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    async def dispose(self) -> None:
        for replica in self.replicas:
            await replica.engine.dispose()
            if replica.checks is not None:
                await replica.checks.dispose()
        if self.primary_checks is not None:
            await self.primary_checks.dispose()


async def stamp_read_after(session: AsyncSession, *, account_id: int) -> None:
    """After a login's write committed: its next reads wait for a replica that has it
    (its own short transaction on the primary, after the write's commit)."""
    await session.execute(READ_AFTER_STAMP, {"id": account_id})
    await session.commit()
