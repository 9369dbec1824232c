"""bot/shards.py against a real PostgreSQL: ranges agree and don't overlap, dead processes free theirs,
identifies take turns per bucket, and the session start reserve is kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bot.shards import (
    IDENTIFY_INTERVAL,
    SESSION_START_RESERVE,
    IdentifyGate,
    SessionStartLimit,
    SessionStartsLow,
    ShardConflict,
    ShardRegistry,
)
from bot.store import PostgresSettingsStore


@pytest.fixture
async def db(pg_dsn: str) -> AsyncIterator[str]:
    """A migrated database (the registry's tables come with the settings schema)."""
    store = await PostgresSettingsStore(pg_dsn).open()
    await store.close()
    yield pg_dsn


async def registered(dsn: str) -> list[tuple[str, int, int, int, bool]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT instance, first_shard, last_shard, shard_count, "
            "backend_pid IN (SELECT pid FROM pg_stat_activity) AS live FROM netexplain_shard_processes "
            "ORDER BY instance"
        )
    finally:
        await conn.close()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def kill_registration(dsn: str, instance: str) -> None:
    """What PostgreSQL sees when a process is SIGKILLed: its connection goes away."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(backend_pid) FROM netexplain_shard_processes WHERE instance = $1",
            instance,
        )
    finally:
        await conn.close()


async def eventually(check: object, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[operator]
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_ranges_must_share_the_total_and_not_overlap(db: str) -> None:
    a = await ShardRegistry(db, instance="host-a:1").open()
    b = await ShardRegistry(db, instance="host-b:2").open()
    try:
        await a.register(0, 1, 4)
        with pytest.raises(ShardConflict) as overlap:
            await b.register(1, 2, 4)
        assert str(overlap.value) == (
            "NETEXPLAIN_SHARDS 1-2/4 overlaps 0-1/4, which host-a:1 runs: give each process its own range."
        )
        with pytest.raises(
            ShardConflict, match=r"is 2-3/8, but host-a:1 runs 0-1/4: every process .* same total"
        ):
            await b.register(2, 3, 8)
        await b.register(2, 3, 4)
        assert await registered(db) == [("host-a:1", 0, 1, 4, True), ("host-b:2", 2, 3, 4, True)]
        await a.close()  # a clean stop gives the range back
        assert await registered(db) == [("host-b:2", 2, 3, 4, True)]
    finally:
        await a.close()
        await b.close()


async def test_a_dead_process_frees_its_range_at_once(db: str) -> None:
    a = await ShardRegistry(db, instance="host-a:1", retry_delay=60).open()  # won't come back in time
    b = await ShardRegistry(db, instance="host-b:2").open()
    try:
        await a.register(0, 1, 4)
        await kill_registration(db, "host-a:1")
        await b.register(0, 1, 4)  # the dead row is pruned, not an overlap
        assert await registered(db) == [("host-b:2", 0, 1, 4, True)]
    finally:
        await a.close()
        await b.close()


async def test_a_dropped_connection_registers_again_or_stops_if_the_range_was_taken(db: str) -> None:
    conflicts: list[ShardConflict] = []
    a = await ShardRegistry(db, instance="host-a:1", retry_delay=0.05, on_conflict=conflicts.append).open()
    try:
        await a.register(0, 1, 4)
        await kill_registration(db, "host-a:1")

        async def back() -> bool:
            return await registered(db) == [("host-a:1", 0, 1, 4, True)]

        await eventually(back)
        assert conflicts == []
    finally:
        await a.close()

    slow = await ShardRegistry(db, instance="host-a:1", retry_delay=1.5, on_conflict=conflicts.append).open()
    taker = await ShardRegistry(db, instance="host-c:3").open()
    try:
        await slow.register(0, 1, 4)
        await kill_registration(db, "host-a:1")
        await taker.register(0, 0, 4)  # before `slow` is back

        async def stopped() -> bool:
            return bool(conflicts)

        await eventually(stopped)
        assert "overlaps 0-0/4, which host-c:3 runs" in str(conflicts[0])
    finally:
        await slow.close()
        await taker.close()


async def test_identifies_of_one_bucket_are_5_seconds_apart_across_processes(db: str) -> None:
    a, b = await ShardRegistry(db, instance="a:1").open(), await ShardRegistry(db, instance="b:2").open()
    gates = [IdentifyGate(a), IdentifyGate(b)]
    for gate in gates:
        gate.max_concurrency = 2
    try:
        assert await gates[0].wait_turn(0) < IDENTIFY_INTERVAL  # bucket 0, first
        assert await gates[1].wait_turn(1) < IDENTIFY_INTERVAL  # bucket 1 has its own turn
        assert await gates[1].wait_turn(2) >= IDENTIFY_INTERVAL  # bucket 0 again, another process
    finally:
        await a.close()
        await b.close()


def test_the_session_start_reserve_is_kept() -> None:
    limit = SessionStartLimit.from_payload(
        {
            "total": 1000,
            "remaining": SESSION_START_RESERVE + 4,
            "reset_after": 5_400_000,
            "max_concurrency": 1,
        }
    )
    limit.check(4)
    with pytest.raises(SessionStartsLow) as low:
        limit.check(5)
    assert str(low.value).endswith("they renew in 1 h 30 min.")
