"""Guild settings persist in SQLite: what was acknowledged survives a restart."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store import (
    PROBE_TIMEOUT,
    SCHEMA_VERSION,
    SQLITE_MIGRATIONS,
    GuildSettings,
    SchemaTooNew,
    SQLiteSettingsStore,
)


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
    assert await store.probe() == SCHEMA_VERSION
    assert await store.get(1) == GuildSettings(1, "reply")
    assert store._probe_conn is not None
    store._probe_conn.execute("PRAGMA query_only = ON")  # what a read-only file or mount looks like
    with pytest.raises(sqlite3.OperationalError):
        await store.probe()
    await store.close()


# --------------------------------------------------------------------------- migrations

_V1_FILE = """
CREATE TABLE guild_settings (guild_id INTEGER PRIMARY KEY, watch_mode TEXT NOT NULL DEFAULT 'react',
                             cooldown_minutes REAL);
CREATE TABLE watched_channels (guild_id INTEGER NOT NULL, channel_id INTEGER NOT NULL,
                               PRIMARY KEY (guild_id, channel_id));
INSERT INTO guild_settings VALUES (1, 'reply', 2.5);
INSERT INTO watched_channels VALUES (1, 10);
"""


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT schema_version FROM netexplain_meta").fetchone()[0])


async def test_a_new_file_is_migrated_to_the_current_version(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    assert await store.probe() == SCHEMA_VERSION == max(SQLITE_MIGRATIONS)
    await store.close()
    assert _version(tmp_path / "s.sqlite3") == SCHEMA_VERSION


@pytest.mark.parametrize(
    "meta",
    [
        "",
        "CREATE TABLE netexplain_meta (id INTEGER PRIMARY KEY, schema_version INTEGER);"
        "INSERT INTO netexplain_meta VALUES (1, 1);",
    ],
    ids=["unversioned", "version 1"],
)
async def test_older_files_are_migrated_step_by_step_and_keep_their_settings(
    tmp_path: Path, meta: str
) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(_V1_FILE + meta)
    store = await SQLiteSettingsStore(path).open()
    assert await store.get(1) == GuildSettings(1, "reply", frozenset({10}), 2.5)
    await store.close()
    assert _version(path) == SCHEMA_VERSION


async def test_a_newer_schema_refuses_to_open_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(
            _V1_FILE + "CREATE TABLE netexplain_meta (id INTEGER PRIMARY KEY, schema_version "
            f"INTEGER); INSERT INTO netexplain_meta VALUES (1, {SCHEMA_VERSION + 1});"
        )
    before = path.read_bytes()
    with pytest.raises(SchemaTooNew) as caught:
        await SQLiteSettingsStore(path).open()
    sentence = str(caught.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in sentence and "upgrade netexplain" in sentence
    assert sentence.count(".") == 1 + str(path).count(".") and sentence.endswith(".")
    assert path.read_bytes() == before


def test_processes_opening_one_new_file_together_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"
    script = (
        "import asyncio, logging, sys\n"
        "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
        "from bot.store import SQLiteSettingsStore\n"
        "async def main():\n"
        "    store = await SQLiteSettingsStore(sys.argv[1]).open()\n"
        "    print('version', await store.probe())\n"
        "    await store.close()\n"
        "asyncio.run(main())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=60)[0] for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    assert all(f"version {SCHEMA_VERSION}" in out for out in outputs), outputs
    joined = "".join(outputs)
    for version in SQLITE_MIGRATIONS:
        assert joined.count(f"migrated to schema version {version}\n") == 1, joined


async def test_a_locked_file_fails_the_probe_quickly_instead_of_waiting(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    other = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await asyncio.wait_for(store.probe(), PROBE_TIMEOUT * 4)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert await store.probe() == SCHEMA_VERSION
    await store.close()
