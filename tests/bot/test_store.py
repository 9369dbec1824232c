"""Guild settings persist in SQLite: what was acknowledged survives a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.store import GuildSettings, SQLiteSettingsStore


async def test_unknown_guild_gets_defaults_and_watches_nothing(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    settings = await store.get(1)
    assert settings == GuildSettings(1)
    assert not settings.watches(10)
    await store.close()


async def test_settings_survive_reopening_the_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "s.sqlite3"
    store = await SQLiteSettingsStore(path).open()
    await store.set_watch_mode(1, "reply")
    await store.set_channel(1, 10, True)
    await store.set_channel(1, 11, True)
    await store.set_channel(1, 11, False)
    await store.set_cooldown(1, 0)
    await store.set_channel(2, 20, True)
    await store.close()

    reopened = await SQLiteSettingsStore(path).open()
    assert await reopened.get(1) == GuildSettings(1, "reply", frozenset({10}), 0.0)
    assert (await reopened.get(2)).watches(20)
    assert not (await reopened.get(2)).watches(10)
    await reopened.close()


async def test_off_mode_watches_nothing_even_in_chosen_channels(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    await store.set_channel(1, 10, True)
    settings = await store.set_watch_mode(1, "off")
    assert not settings.watches(10)
    await store.close()


async def test_concurrent_changes_are_not_lost(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    store = await SQLiteSettingsStore(path).open()
    await asyncio.gather(*(store.set_channel(1, cid, True) for cid in range(30)))
    await store.close()
    reopened = await SQLiteSettingsStore(path).open()
    assert (await reopened.get(1)).channel_ids == frozenset(range(30))
    await reopened.close()


async def test_invalid_values_are_refused(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    with pytest.raises(ValueError):
        await store.set_watch_mode(1, "shout")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await store.set_cooldown(1, -1)
    await store.close()


async def test_the_health_check_writes_nothing_and_fails_when_writes_would(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    await store.set_watch_mode(1, "reply")
    await store.check_writable()
    assert await store.get(1) == GuildSettings(1, "reply")
    assert store._conn is not None
    store._conn.execute("PRAGMA query_only = ON")  # what a read-only file or mount looks like to SQLite
    with pytest.raises(sqlite3.OperationalError):
        await store.check_writable()
    await store.close()
