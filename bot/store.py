"""Per-guild settings (watch mode, watched channels, cooldown): the only thing the bot stores.

`SettingsStore` is the interface the cogs use; `SQLiteSettingsStore` is the implementation for one
process. A PostgreSQL implementation (issue 5) only has to provide the same five coroutines.
Reads are served from memory after the first one, because watching asks for a guild's settings on
every message; writes go to disk before they return, so a crash loses nothing that was acknowledged.
"""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, Protocol, get_args

WatchMode = Literal["react", "reply", "off"]
WATCH_MODES: tuple[WatchMode, ...] = get_args(WatchMode)


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """One guild's settings. A guild nobody configured watches nothing."""

    guild_id: int
    watch_mode: WatchMode = "react"  # the mode used in watched channels; no channels means no watching
    channel_ids: frozenset[int] = field(default_factory=frozenset)
    cooldown_minutes: float | None = None  # None: the operator's default (NETEXPLAIN_WATCH_COOLDOWN)

    def watches(self, channel_id: int) -> bool:
        """True when messages in `channel_id` should be looked at unasked."""
        return self.watch_mode != "off" and channel_id in self.channel_ids


class SettingsStore(Protocol):
    """Where guild settings live. All methods return the settings as they are after the call."""

    async def get(self, guild_id: int) -> GuildSettings: ...

    async def set_watch_mode(self, guild_id: int, mode: WatchMode) -> GuildSettings: ...

    async def set_channel(self, guild_id: int, channel_id: int, watched: bool) -> GuildSettings: ...

    async def set_cooldown(self, guild_id: int, minutes: float | None) -> GuildSettings: ...

    async def close(self) -> None: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id         INTEGER PRIMARY KEY,
    watch_mode       TEXT NOT NULL DEFAULT 'react' CHECK (watch_mode IN ('react', 'reply', 'off')),
    cooldown_minutes REAL
);
CREATE TABLE IF NOT EXISTS watched_channels (
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
);
"""


class SQLiteSettingsStore:
    """`SettingsStore` in one SQLite file; blocking calls run in a worker thread, one at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._cache: dict[int, GuildSettings] = {}
        self._lock = asyncio.Lock()

    async def open(self) -> SQLiteSettingsStore:
        """Create the file and tables if needed; call once before use."""
        if self._conn is None:
            self._conn = await asyncio.to_thread(self._connect)
        return self

    def _connect(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: calls hop between worker threads, but the lock serialises them.
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        return conn

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("SQLiteSettingsStore.open() was not awaited")
        return self._conn

    def _read(self, guild_id: int) -> GuildSettings:
        row = self._db.execute(
            "SELECT watch_mode, cooldown_minutes FROM guild_settings WHERE guild_id = ?", (guild_id,)
        ).fetchone()
        channels = frozenset(
            r[0]
            for r in self._db.execute(
                "SELECT channel_id FROM watched_channels WHERE guild_id = ?", (guild_id,)
            )
        )
        if row is None:
            return GuildSettings(guild_id, channel_ids=channels)
        return GuildSettings(guild_id, row[0], channels, row[1])

    def _write(self, settings: GuildSettings, channel: tuple[int, bool] | None) -> None:
        with self._db:  # one transaction: BEGIN ... COMMIT
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO guild_settings (guild_id, watch_mode, cooldown_minutes) VALUES (?, ?, ?) "
                "ON CONFLICT (guild_id) DO UPDATE SET watch_mode = excluded.watch_mode, "
                "cooldown_minutes = excluded.cooldown_minutes",
                (settings.guild_id, settings.watch_mode, settings.cooldown_minutes),
            )
            if channel is not None:
                channel_id, watched = channel
                if watched:
                    self._db.execute(
                        "INSERT OR IGNORE INTO watched_channels (guild_id, channel_id) VALUES (?, ?)",
                        (settings.guild_id, channel_id),
                    )
                else:
                    self._db.execute(
                        "DELETE FROM watched_channels WHERE guild_id = ? AND channel_id = ?",
                        (settings.guild_id, channel_id),
                    )

    async def get(self, guild_id: int) -> GuildSettings:
        """The guild's settings (defaults when it has none)."""
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        async with self._lock:
            settings = await asyncio.to_thread(self._read, guild_id)
            self._cache[guild_id] = settings
            return settings

    async def _update(
        self, guild_id: int, channel: tuple[int, bool] | None = None, **changes: object
    ) -> GuildSettings:
        async with self._lock:  # read-modify-write under the lock so concurrent changes don't race
            current = self._cache.get(guild_id) or await asyncio.to_thread(self._read, guild_id)
            new = replace(current, **changes)  # type: ignore[arg-type]
            if channel is not None:
                channel_id, watched = channel
                ids = current.channel_ids | {channel_id} if watched else current.channel_ids - {channel_id}
                new = replace(new, channel_ids=frozenset(ids))
            await asyncio.to_thread(self._write, new, channel)
            self._cache[guild_id] = new
        return new

    async def set_watch_mode(self, guild_id: int, mode: WatchMode) -> GuildSettings:
        """Set how watched channels are answered."""
        if mode not in WATCH_MODES:
            raise ValueError(f"unknown watch mode {mode!r}")
        return await self._update(guild_id, watch_mode=mode)

    async def set_channel(self, guild_id: int, channel_id: int, watched: bool) -> GuildSettings:
        """Start (`watched=True`) or stop watching one channel."""
        return await self._update(guild_id, channel=(channel_id, watched))

    async def set_cooldown(self, guild_id: int, minutes: float | None) -> GuildSettings:
        """Set the per-finding cooldown; None restores the operator's default."""
        if minutes is not None and minutes < 0:
            raise ValueError("cooldown must not be negative")
        return await self._update(guild_id, cooldown_minutes=minutes)

    async def close(self) -> None:
        """Close the database file."""
        async with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await asyncio.to_thread(conn.close)
