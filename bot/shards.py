"""Who identifies when: Discord's session-start rules across the shards of one process, or of many.

Discord lets a bot IDENTIFY `max_concurrency` sessions per 5 seconds: shard `s` is in bucket
`s % max_concurrency`, and each bucket identifies at most once per 5 seconds. A bot also has a daily
budget of session starts (`session_start_limit.remaining` of `total`); running it out gets the token
reset. (https://discord.com/developers/docs/events/gateway#session-start-limit)

`IdentifyGate` waits for a shard's bucket. In one process it keeps the times in memory. With
`NETEXPLAIN_SHARDS` and a PostgreSQL `NETEXPLAIN_DB`, `ShardRegistry` coordinates every process that
shares the database: each registers its range (a process whose total disagrees with a live one, or
whose range overlaps one, refuses to start with `ShardConflict`), and each identify takes its bucket's
turn under a PostgreSQL advisory lock, reading and writing the bucket's last identify time in
`netexplain_identify_buckets`. A process counts as live while its registration connection is open,
so a killed process frees its range as soon as PostgreSQL notices the connection is gone; a process
whose connection drops registers again (and stops, through `on_conflict`, if its range was taken).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

IDENTIFY_INTERVAL = 5.0  # seconds between two identifies of one bucket (Discord's rule)
IDENTIFY_MARGIN = 0.25  # added to the interval: the clocks of Discord and ours are not the same clock
SESSION_START_RESERVE = 5  # session starts left untouched for the operator; below this, stop
_REGISTRY_LOCK = 0x6E657479  # pg_advisory_xact_lock key serialising registrations
_IDENTIFY_LOCK = 0x6E65747A  # first key of pg_advisory_xact_lock(key, bucket)


class ShardConflict(RuntimeError):
    """This process's shard range disagrees with a live process's; one sentence for the operator."""


class SessionStartsLow(RuntimeError):
    """Too few of today's session starts are left to identify; one sentence for the operator."""


@dataclass(frozen=True, slots=True)
class SessionStartLimit:
    """`session_start_limit` of `GET /gateway/bot`."""

    total: int
    remaining: int
    reset_after: float  # seconds
    max_concurrency: int

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> SessionStartLimit:
        return cls(
            total=int(data.get("total", 1000)),
            remaining=int(data.get("remaining", 1000)),
            reset_after=int(data.get("reset_after", 0)) / 1000,
            max_concurrency=max(1, int(data.get("max_concurrency", 1))),
        )

    def check(self, needed: int) -> None:
        """Raise `SessionStartsLow` unless `needed` identifies leave the reserve untouched."""
        if self.remaining - needed < SESSION_START_RESERVE:
            hours, rest = divmod(int(self.reset_after), 3600)
            raise SessionStartsLow(
                f"Only {self.remaining} of Discord's {self.total} daily session starts are left and "
                f"{needed} would be needed (netexplain keeps {SESSION_START_RESERVE} in reserve): stopping "
                f"instead of spending them; they renew in {hours} h {rest // 60} min."
            )


class ShardRegistry:
    """The processes sharing one PostgreSQL: registered ranges and the identify queue."""

    def __init__(
        self,
        dsn: str,
        *,
        on_conflict: Callable[[ShardConflict], None] | None = None,
        retry_delay: float = 1.0,
        instance: str | None = None,
    ) -> None:
        self._dsn = dsn
        self._conn: Any = None
        self._lock = asyncio.Lock()  # one connection: one statement at a time
        self._connected = asyncio.Event()
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None
        self._on_conflict = on_conflict
        self._retry_delay = retry_delay
        self.instance = instance or f"{socket.gethostname()}:{os.getpid()}"  # names it to the others
        self.range: tuple[int, int, int] | None = None

    async def open(self) -> ShardRegistry:
        await self._connect()
        return self

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        conn.add_termination_listener(self._on_lost)
        self._conn = conn
        self._connected.set()

    def _on_lost(self, _conn: object) -> None:
        """The registration connection died: the range looks free to others until registered again."""
        self._connected.clear()
        if self._closing or self._reconnect is not None:
            return
        log.warning("lost the PostgreSQL shard registration; registering again")
        self._reconnect = asyncio.get_running_loop().create_task(self._register_again())

    async def _register_again(self) -> None:
        delay = self._retry_delay
        try:
            while not self._closing:
                await asyncio.sleep(delay)
                try:
                    await self._connect()
                    if self.range is not None:
                        await self.register(*self.range)
                    return
                except ShardConflict as exc:  # another process took the range meanwhile
                    log.error("%s", exc)
                    if self._on_conflict is not None:
                        self._on_conflict(exc)
                    return
                except Exception as exc:
                    log.warning("PostgreSQL shard registration failed again: %s", type(exc).__name__)
                    delay = min(delay * 2, 30.0)
        finally:
            self._reconnect = None

    async def register(self, first: int, last: int, count: int) -> None:
        """Claim shards `first`..`last` of `count`, or raise `ShardConflict` naming the live process."""
        mine = f"{first}-{last}/{count}"
        async with self._lock, self._conn.transaction():
            await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _REGISTRY_LOCK)
            # A process is live while its registration connection is: a killed one's row goes here.
            await self._conn.execute(
                "DELETE FROM netexplain_shard_processes "
                "WHERE backend_pid NOT IN (SELECT pid FROM pg_stat_activity) OR instance = $1",
                self.instance,
            )
            for row in await self._conn.fetch(
                "SELECT instance, first_shard, last_shard, shard_count FROM netexplain_shard_processes "
                "ORDER BY first_shard"
            ):
                theirs = f"{row['first_shard']}-{row['last_shard']}/{row['shard_count']}"
                if row["shard_count"] != count:
                    raise ShardConflict(
                        f"NETEXPLAIN_SHARDS is {mine}, but {row['instance']} runs {theirs}: every process "
                        "sharing this database must use the same total."
                    )
                if first <= row["last_shard"] and row["first_shard"] <= last:
                    raise ShardConflict(
                        f"NETEXPLAIN_SHARDS {mine} overlaps {theirs}, which {row['instance']} runs: give "
                        "each process its own range."
                    )
            await self._conn.execute(
                "INSERT INTO netexplain_shard_processes "
                "(instance, first_shard, last_shard, shard_count, backend_pid) "
                "VALUES ($1, $2, $3, $4, pg_backend_pid())",
                self.instance,
                first,
                last,
                count,
            )
        self.range = (first, last, count)
        log.info("registered shards %s as %s", mine, self.instance)

    async def wait_turn(self, bucket: int) -> float:
        """Wait until `bucket` may identify, across every process; returns the seconds waited.

        While the registration connection is down this waits for it: no identify goes uncoordinated.
        """
        started = time.monotonic()
        await self._connected.wait()
        async with self._lock, self._conn.transaction():
            # Held until commit: the next process in this bucket reads the time written below.
            await self._conn.execute("SELECT pg_advisory_xact_lock($1, $2)", _IDENTIFY_LOCK, bucket)
            wait = await self._conn.fetchval(
                "SELECT GREATEST(0, $2 - EXTRACT(EPOCH FROM clock_timestamp() - last_identify)) "
                "FROM netexplain_identify_buckets WHERE bucket = $1",
                bucket,
                IDENTIFY_INTERVAL + IDENTIFY_MARGIN,
            )
            if wait:
                await asyncio.sleep(float(wait))
            await self._conn.execute(
                "INSERT INTO netexplain_identify_buckets (bucket, last_identify) "
                "VALUES ($1, clock_timestamp()) "
                "ON CONFLICT (bucket) DO UPDATE SET last_identify = excluded.last_identify",
                bucket,
            )
        return time.monotonic() - started

    async def close(self) -> None:
        """Give the range back and disconnect."""
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._conn is None:
            return
        conn, self._conn = self._conn, None
        conn.remove_termination_listener(self._on_lost)
        try:
            if not conn.is_closed():
                await conn.execute(
                    "DELETE FROM netexplain_shard_processes WHERE instance = $1", self.instance
                )
        except Exception as exc:  # the row goes anyway once the connection does
            log.debug("could not unregister: %s", exc)
        finally:
            await conn.close()


class IdentifyGate:
    """The bot's `before_identify_hook`: one identify per bucket per 5 seconds, here or everywhere."""

    def __init__(self, registry: ShardRegistry | None = None) -> None:
        self.registry = registry
        self.max_concurrency = 1
        self._last: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    def bucket(self, shard_id: int) -> int:
        """Discord's rule: shard `s` identifies in bucket `s % max_concurrency`."""
        return shard_id % self.max_concurrency

    async def wait_turn(self, shard_id: int) -> float:
        """Wait for the shard's bucket; returns the seconds waited."""
        bucket = self.bucket(shard_id)
        if self.registry is not None:
            return await self.registry.wait_turn(bucket)
        started = time.monotonic()
        async with self._locks.setdefault(bucket, asyncio.Lock()):
            last = self._last.get(bucket)
            if last is not None:
                await asyncio.sleep(max(0.0, last + IDENTIFY_INTERVAL + IDENTIFY_MARGIN - time.monotonic()))
            self._last[bucket] = time.monotonic()
        return time.monotonic() - started
