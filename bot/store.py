"""Per-guild settings (watch mode, watched channels, cooldown): the only thing the bot stores.

`SettingsStore` is the interface the cogs use. `SQLiteSettingsStore` is the embedded default for one
process; `PostgresSettingsStore` shares settings between processes (`NETEXPLAIN_DB=postgresql://...`).
Reads are served from memory after the first one, because watching asks for a guild's settings on
every message; writes go to disk before they return, so a crash loses nothing that was acknowledged.
`open_store(config)` picks the implementation.

Both databases carry a schema version in `netexplain_meta`. Opening a store migrates it: the numbered
steps in `SQLITE_MIGRATIONS` / `POSTGRES_MIGRATIONS` from the version found up to `SCHEMA_VERSION`, one
after the other in one transaction, under a lock that other processes opening the same database wait
for (SQLite's write lock, a PostgreSQL advisory lock). A database with a newer version than this code
knows raises `SchemaTooNew` and is left untouched.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)

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

    async def probe(self) -> int:
        """Raise unless a write would succeed now (for `/readyz`); the schema version found.

        Writes nothing that lasts, and gives up after `PROBE_TIMEOUT` instead of waiting on a lock.
        """
        ...

    async def close(self) -> None: ...


SCHEMA_VERSION = 2  # the last migration below; a database with a higher version refuses to open
PROBE_TIMEOUT = 0.5  # seconds a readiness probe waits for the database's write lock


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer netexplain; the message is one sentence for the operator."""


def _too_new(found: int, where: str) -> SchemaTooNew:
    return SchemaTooNew(
        f"The settings database at {where} has schema version {found}, newer than the {SCHEMA_VERSION} "
        "this netexplain knows: upgrade netexplain (or point NETEXPLAIN_DB at another database)."
    )


_META = """
CREATE TABLE IF NOT EXISTS netexplain_meta (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL
)
"""
# Step N takes a database from version N-1 to N. Steps are never edited once released: add one.
# IF NOT EXISTS in step 1: databases written before versions were read already have these tables.
SQLITE_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id         INTEGER PRIMARY KEY,
    watch_mode       TEXT NOT NULL DEFAULT 'react' CHECK (watch_mode IN ('react', 'reply', 'off')),
    cooldown_minutes REAL
)""",
        """CREATE TABLE IF NOT EXISTS watched_channels (
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
)""",
    ),
    # 2: PostgreSQL's shard coordination tables; SQLite serves one process, so nothing to add here.
    2: (),
}


class SQLiteSettingsStore:
    """`SettingsStore` in one SQLite file; blocking calls run in a worker thread, one at a time."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None
        self._cache: dict[int, GuildSettings] = {}
        self._lock = asyncio.Lock()
        self._probe_conn: sqlite3.Connection | None = None
        self._probe_lock = asyncio.Lock()

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
        try:
            self._migrate(conn)  # first: a file this code refuses stays exactly as it was
            conn.execute("PRAGMA journal_mode=WAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """Bring the file to `SCHEMA_VERSION`, holding the write lock so other processes wait."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_META)
            row = conn.execute("SELECT schema_version FROM netexplain_meta WHERE id = 1").fetchone()
            found = 0 if row is None else int(row[0])
            if found > SCHEMA_VERSION:
                raise _too_new(found, str(self.path))
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in SQLITE_MIGRATIONS[version]:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO netexplain_meta (id, schema_version) VALUES (1, ?) "
                    "ON CONFLICT (id) DO UPDATE SET schema_version = excluded.schema_version",
                    (version,),
                )
                log.info("settings database %s: migrated to schema version %d", self.path, version)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

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

    def _probe_write(self) -> int:
        db = self._db
        if self._probe_conn is None:
            if str(self.path) == ":memory:":
                self._probe_conn = db  # nobody else can hold the lock of a private in-memory database
            else:
                # Its own connection with a short busy timeout: a probe never queues behind our writes.
                self._probe_conn = sqlite3.connect(
                    self.path, timeout=PROBE_TIMEOUT, check_same_thread=False, isolation_level=None
                )
        conn = self._probe_conn
        try:
            conn.execute("BEGIN IMMEDIATE")  # takes the write lock, as a real write would
            conn.execute("UPDATE netexplain_meta SET schema_version = schema_version WHERE id = 1")
            return int(conn.execute("SELECT schema_version FROM netexplain_meta WHERE id = 1").fetchone()[0])
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    async def probe(self) -> int:
        """Raise unless the file accepts a write now (rolled back); the schema version it holds."""
        if str(self.path) == ":memory:":
            async with self._lock:  # the probe shares the one connection
                return await asyncio.to_thread(self._probe_write)
        async with self._probe_lock:
            return await asyncio.to_thread(self._probe_write)

    async def close(self) -> None:
        """Close the database file."""
        async with self._lock:
            async with self._probe_lock:
                probe, self._probe_conn = self._probe_conn, None
                if probe is not None and probe is not self._conn:
                    await asyncio.to_thread(probe.close)
            if self._conn is not None:
                conn, self._conn = self._conn, None
                await asyncio.to_thread(conn.close)


# --------------------------------------------------------------------------- PostgreSQL

POSTGRES_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE IF NOT EXISTS netexplain_guild_settings (
    guild_id         BIGINT PRIMARY KEY,
    watch_mode       TEXT NOT NULL DEFAULT 'react' CHECK (watch_mode IN ('react', 'reply', 'off')),
    cooldown_minutes DOUBLE PRECISION
)""",
        """CREATE TABLE IF NOT EXISTS netexplain_watched_channels (
    guild_id   BIGINT NOT NULL,
    channel_id BIGINT NOT NULL,
    PRIMARY KEY (guild_id, channel_id)
)""",
    ),
    # 2: the processes holding shard ranges, and when each identify bucket last identified
    # (bot/shards.py: ranges agree and don't overlap; identifies follow Discord's 5-second rule).
    2: (
        """CREATE TABLE netexplain_shard_processes (
    instance    TEXT PRIMARY KEY,
    first_shard INTEGER NOT NULL,
    last_shard  INTEGER NOT NULL,
    shard_count INTEGER NOT NULL,
    backend_pid INTEGER NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL DEFAULT now()
)""",
        """CREATE TABLE netexplain_identify_buckets (
    bucket        INTEGER PRIMARY KEY,
    last_identify TIMESTAMPTZ NOT NULL
)""",
    ),
}
_PG_SCHEMA_LOCK = 0x6E657478  # pg_advisory_xact_lock key: processes starting together migrate once
NOTIFY_CHANNEL = "netexplain_settings"


class PostgresSettingsStore:
    """`SettingsStore` in PostgreSQL, shared by every bot process (asyncpg, a small connection pool).

    Each write changes only what it names (one column, one channel row) in one transaction and returns
    the guild's settings as committed, so two processes never overwrite each other's changes. Each
    process caches what it read; a write NOTIFYs the others, which drop that guild from their cache.
    While the LISTEN connection is down nothing is cached, so a process never serves stale settings.
    """

    def __init__(self, dsn: str, *, pool_size: int = 4) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: Any = None
        self._listener: Any = None
        self._cache: dict[int, GuildSettings] = {}
        # Bumped by every invalidation: a read that raced with one is used but not cached, so a NOTIFY
        # that arrives while we read can't be overwritten by the older value we read.
        self._invalidations = 0
        self._instance = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._closing = False
        self._reconnect: asyncio.Task[None] | None = None

    async def open(self) -> PostgresSettingsStore:
        """Connect, create the tables if needed and start listening for other processes' changes."""
        try:
            import asyncpg
        except ImportError:  # the optional extra
            raise RuntimeError(
                "NETEXPLAIN_DB is a PostgreSQL URL but asyncpg is not installed "
                "(pip install 'netexplain[postgres]')"
            ) from None
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self._pool_size, command_timeout=10
            )
            try:
                async with self._pool.acquire() as conn:
                    await self._migrate(conn)
                await self._listen()
            except BaseException:
                pool, self._pool = self._pool, None
                await pool.close()
                raise
        return self

    async def _migrate(self, conn: Any) -> None:
        """Bring the database to `SCHEMA_VERSION`; processes starting together wait for the first."""
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _PG_SCHEMA_LOCK)
            await conn.execute(_META)
            found = await conn.fetchval("SELECT schema_version FROM netexplain_meta WHERE id = 1") or 0
            if found > SCHEMA_VERSION:
                raise _too_new(found, _dsn_label(self._dsn))
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in POSTGRES_MIGRATIONS[version]:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO netexplain_meta (id, schema_version) VALUES (1, $1) "
                    "ON CONFLICT (id) DO UPDATE SET schema_version = excluded.schema_version",
                    version,
                )
                log.info("settings database: migrated to schema version %d", version)

    async def _listen(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        conn.add_termination_listener(self._on_listener_lost)
        self._listener = conn

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        guild, _, instance = payload.partition(" ")
        if instance != self._instance:
            self._invalidations += 1
            self._cache.pop(int(guild), None)

    def _on_listener_lost(self, _conn: object) -> None:
        self._listener = None
        self._invalidations += 1
        self._cache.clear()
        if not self._closing and self._reconnect is None:
            log.warning("lost the PostgreSQL LISTEN connection; settings are read uncached until it is back")
            self._reconnect = asyncio.get_running_loop().create_task(self._relisten())

    async def _relisten(self) -> None:
        delay = 1.0
        try:
            while not self._closing and self._listener is None:
                try:
                    await self._listen()
                    log.info("PostgreSQL LISTEN connection is back")
                except Exception as exc:
                    log.warning("PostgreSQL LISTEN reconnect failed: %s", type(exc).__name__)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
        finally:
            self._reconnect = None

    @property
    def _db(self) -> Any:
        if self._pool is None:
            raise RuntimeError("PostgresSettingsStore.open() was not awaited")
        return self._pool

    @staticmethod
    async def _read(conn: Any, guild_id: int) -> GuildSettings:
        row = await conn.fetchrow(
            "SELECT watch_mode, cooldown_minutes FROM netexplain_guild_settings WHERE guild_id = $1",
            guild_id,
        )
        channels = frozenset(
            r[0]
            for r in await conn.fetch(
                "SELECT channel_id FROM netexplain_watched_channels WHERE guild_id = $1", guild_id
            )
        )
        if row is None:
            return GuildSettings(guild_id, channel_ids=channels)
        return GuildSettings(guild_id, row[0], channels, row[1])

    async def get(self, guild_id: int) -> GuildSettings:
        """The guild's settings (defaults when it has none)."""
        cached = self._cache.get(guild_id)
        if cached is not None:
            return cached
        seen = self._invalidations
        async with self._db.acquire() as conn:
            settings = await self._read(conn, guild_id)
        self._remember(settings, seen)
        return settings

    def _remember(self, settings: GuildSettings, seen: int) -> None:
        if self._listener is not None and self._invalidations == seen:
            self._cache[settings.guild_id] = settings

    async def _write(self, guild_id: int, statement: str, *args: object) -> GuildSettings:
        seen = self._invalidations
        async with self._db.acquire() as conn, conn.transaction():
            await conn.execute(statement, guild_id, *args)
            settings = await self._read(conn, guild_id)
            await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, f"{guild_id} {self._instance}")
        self._remember(settings, seen)
        return settings

    async def set_watch_mode(self, guild_id: int, mode: WatchMode) -> GuildSettings:
        """Set how watched channels are answered."""
        if mode not in WATCH_MODES:
            raise ValueError(f"unknown watch mode {mode!r}")
        return await self._write(
            guild_id,
            "INSERT INTO netexplain_guild_settings (guild_id, watch_mode) VALUES ($1, $2) "
            "ON CONFLICT (guild_id) DO UPDATE SET watch_mode = excluded.watch_mode",
            mode,
        )

    async def set_channel(self, guild_id: int, channel_id: int, watched: bool) -> GuildSettings:
        """Start (`watched=True`) or stop watching one channel."""
        if watched:
            statement = (
                "INSERT INTO netexplain_watched_channels (guild_id, channel_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING"
            )
        else:
            statement = "DELETE FROM netexplain_watched_channels WHERE guild_id = $1 AND channel_id = $2"
        return await self._write(guild_id, statement, channel_id)

    async def set_cooldown(self, guild_id: int, minutes: float | None) -> GuildSettings:
        """Set the per-finding cooldown; None restores the operator's default."""
        if minutes is not None and minutes < 0:
            raise ValueError("cooldown must not be negative")
        return await self._write(
            guild_id,
            "INSERT INTO netexplain_guild_settings (guild_id, cooldown_minutes) VALUES ($1, $2) "
            "ON CONFLICT (guild_id) DO UPDATE SET cooldown_minutes = excluded.cooldown_minutes",
            minutes,
        )

    async def probe(self) -> int:
        """Raise unless the server accepts a write now (a primary, not a read-only standby); rolled back.

        The schema version is returned. Waits at most `PROBE_TIMEOUT` for a connection and for the row.
        """
        async with self._db.acquire(timeout=PROBE_TIMEOUT) as conn:
            tx = conn.transaction()
            await tx.start()
            try:
                await conn.execute(f"SET LOCAL lock_timeout = {int(PROBE_TIMEOUT * 1000)}")
                await conn.execute(
                    "UPDATE netexplain_meta SET schema_version = schema_version WHERE id = 1",
                    timeout=PROBE_TIMEOUT * 2,
                )
                return int(await conn.fetchval("SELECT schema_version FROM netexplain_meta WHERE id = 1"))
            finally:
                await tx.rollback()

    async def close(self) -> None:
        """Stop listening and close the pool."""
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.remove_termination_listener(self._on_listener_lost)
            await listener.close()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()


def _dsn_label(dsn: str) -> str:
    from bot.config import Config, Secret

    return Config(db_url=Secret(dsn)).database_label


async def open_store(config: Config) -> SettingsStore:
    """The settings store `config` asks for: PostgreSQL for a `postgresql://` URL, else SQLite."""
    if config.uses_postgres:
        return await PostgresSettingsStore(config.db_url.reveal()).open()
    return await SQLiteSettingsStore(config.db_path).open()
