"""Settings shared through a real PostgreSQL server: what one process writes, every process reads."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bot.config import load_config
from bot.store import (
    POSTGRES_MIGRATIONS,
    SCHEMA_VERSION,
    GuildSettings,
    PostgresSettingsStore,
    SchemaTooNew,
    open_store,
)


async def eventually(check: object, timeout: float = 5.0) -> None:
    """Poll an async predicate until it holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_postgresql_url_selects_the_shared_store(pg_dsn: str) -> None:
    store = await open_store(load_config({"NETEXPLAIN_DB": pg_dsn}))
    try:
        assert isinstance(store, PostgresSettingsStore)
        assert await store.get(1) == GuildSettings(1)
        assert await store.probe() == SCHEMA_VERSION
    finally:
        await store.close()


async def test_settings_survive_reconnecting(pg_dsn: str) -> None:
    store = await PostgresSettingsStore(pg_dsn).open()
    await store.set_watch_mode(1, "reply")
    await store.set_channel(1, 10, True)
    await store.set_channel(1, 11, True)
    await store.set_channel(1, 11, False)
    await store.set_cooldown(1, 0)
    big = (1 << 62) + 5  # snowflakes need 64-bit columns
    await store.set_channel(big, big + 1, True)
    await store.close()

    reopened = await PostgresSettingsStore(pg_dsn).open()
    try:
        assert await reopened.get(1) == GuildSettings(1, "reply", frozenset({10}), 0.0)
        assert (await reopened.get(big)).watches(big + 1)
    finally:
        await reopened.close()


async def test_a_change_in_one_process_reaches_the_others_cache(pg_dsn: str) -> None:
    first = await PostgresSettingsStore(pg_dsn).open()
    second = await PostgresSettingsStore(pg_dsn).open()
    try:
        assert not (await second.get(7)).watches(70)  # now cached in `second`
        await first.set_channel(7, 70, True)

        async def second_sees_it() -> bool:
            return (await second.get(7)).watches(70)

        await eventually(second_sees_it)
        await first.set_watch_mode(7, "off")

        async def second_sees_off() -> bool:
            return (await second.get(7)).watch_mode == "off"

        await eventually(second_sees_off)
    finally:
        await first.close()
        await second.close()


async def test_concurrent_changes_from_two_processes_are_not_lost(pg_dsn: str) -> None:
    first = await PostgresSettingsStore(pg_dsn).open()
    second = await PostgresSettingsStore(pg_dsn).open()
    try:
        await asyncio.gather(
            *(first.set_channel(1, cid, True) for cid in range(0, 40, 2)),
            *(second.set_channel(1, cid, True) for cid in range(1, 40, 2)),
            first.set_watch_mode(1, "reply"),
            second.set_cooldown(1, 3),
        )
        fresh = await PostgresSettingsStore(pg_dsn).open()
        try:
            assert await fresh.get(1) == GuildSettings(1, "reply", frozenset(range(40)), 3.0)
        finally:
            await fresh.close()
    finally:
        await first.close()
        await second.close()


async def test_invalid_values_are_refused(pg_dsn: str) -> None:
    store = await PostgresSettingsStore(pg_dsn).open()
    try:
        try:
            await store.set_watch_mode(1, "shout")  # type: ignore[arg-type]
        except ValueError:
            pass
        else:
            raise AssertionError("an unknown watch mode was accepted")
        assert await store.get(1) == GuildSettings(1)
    finally:
        await store.close()


async def test_a_lost_listen_connection_stops_caching_until_it_is_back(pg_dsn: str) -> None:
    import asyncpg

    writer = await PostgresSettingsStore(pg_dsn).open()
    reader = await PostgresSettingsStore(pg_dsn).open()
    admin = await asyncpg.connect(pg_dsn)
    try:
        await reader.get(5)  # cached
        listener_pid = reader._listener.get_server_pid()
        await admin.execute("SELECT pg_terminate_backend($1)", listener_pid)

        async def listener_lost() -> bool:
            return reader._listener is None or reader._listener.get_server_pid() != listener_pid

        await eventually(listener_lost)
        # Whether or not it is already back, a change made elsewhere is seen at once or soon after.
        await writer.set_watch_mode(5, "off")

        async def reader_sees_off() -> bool:
            return (await reader.get(5)).watch_mode == "off"

        await eventually(reader_sees_off)

        async def listening_again() -> bool:
            return reader._listener is not None and reader._listener.get_server_pid() != listener_pid

        await eventually(listening_again, timeout=10)
        await reader.get(5)  # cached again
        await writer.set_watch_mode(5, "reply")

        async def reader_sees_reply() -> bool:
            return (await reader.get(5)).watch_mode == "reply"

        await eventually(reader_sees_reply)
    finally:
        await admin.close()
        await writer.close()
        await reader.close()


# --------------------------------------------------------------------------- migrations


async def test_a_version_1_database_is_migrated_and_keeps_its_settings(pg_dsn: str) -> None:
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(
            "CREATE TABLE netexplain_guild_settings (guild_id BIGINT PRIMARY KEY, watch_mode TEXT NOT NULL "
            "DEFAULT 'react', cooldown_minutes DOUBLE PRECISION);"
            "CREATE TABLE netexplain_watched_channels (guild_id BIGINT NOT NULL, channel_id BIGINT NOT NULL, "
            "PRIMARY KEY (guild_id, channel_id));"
            "CREATE TABLE netexplain_meta (id INTEGER PRIMARY KEY, schema_version INTEGER NOT NULL);"
            "INSERT INTO netexplain_meta VALUES (1, 1);"
            "INSERT INTO netexplain_guild_settings VALUES (5, 'reply', 1.5);"
            "INSERT INTO netexplain_watched_channels VALUES (5, 50);"
        )
        store = await PostgresSettingsStore(pg_dsn).open()
        try:
            assert await store.get(5) == GuildSettings(5, "reply", frozenset({50}), 1.5)
            assert await store.probe() == SCHEMA_VERSION == max(POSTGRES_MIGRATIONS)
        finally:
            await store.close()
        tables = {
            r[0] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        }
        assert {"netexplain_shard_processes", "netexplain_identify_buckets"} <= tables
    finally:
        await conn.close()


async def test_processes_opening_a_new_database_together_migrate_it_once(pg_dsn: str) -> None:
    stores = await asyncio.gather(*(PostgresSettingsStore(pg_dsn).open() for _ in range(4)))
    try:
        assert [await store.probe() for store in stores] == [SCHEMA_VERSION] * 4
    finally:
        for store in stores:
            await store.close()


async def test_a_newer_schema_refuses_to_open_without_showing_the_password(pg_dsn: str) -> None:
    store = await PostgresSettingsStore(pg_dsn).open()
    await store.close()
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute("UPDATE netexplain_meta SET schema_version = $1", SCHEMA_VERSION + 1)
    finally:
        await conn.close()
    with_password = pg_dsn.replace("://netexplain@", "://netexplain:pw-5521@")
    with pytest.raises(SchemaTooNew) as caught:
        await PostgresSettingsStore(with_password).open()
    assert f"schema version {SCHEMA_VERSION + 1}" in str(caught.value)
    assert "pw-5521" not in str(caught.value) and "postgresql://netexplain@127.0.0.1:" in str(caught.value)
