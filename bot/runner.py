"""Entry functions for `netexplain run` and `netexplain sync`: exit codes and one-sentence failures.

Whatever goes wrong at start-up (no token, a rejected token, a refused privileged intent, a server
that can't be reached, a health port in use) ends in one sentence on stderr and a non-zero exit code,
never a traceback. Conditions that a restart cannot fix have their own exit codes (`FATAL_EXIT_CODES`),
which the systemd unit (`RestartPreventExitStatus=`) and the image's init (`tini -e`) do not restart:
each restart would spend one of Discord's daily session starts for nothing. SIGTERM and SIGINT stop
the bot gracefully: no new events, answers in flight finish (up to `NETEXPLAIN_SHUTDOWN_TIMEOUT`
seconds), then the gateway and the database close; exit 0.

The settings database is opened (and migrated) before anything talks to Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

import aiohttp
import discord

from bot import logs
from bot.client import (
    NetexplainBot,
    StartupError,
    create_bot,
    point_discord_py_at,
    store_failure_sentence,
)
from bot.config import Config, ConfigError, load_config
from bot.health import HealthServer
from bot.shards import SessionStartsLow, ShardConflict
from bot.store import SchemaTooNew, SettingsStore, SQLiteSettingsStore, open_store

log = logging.getLogger("netexplain")

EXIT_OK = 0
EXIT_FAILURE = 1  # may pass by itself (Discord or the database unreachable): restart
EXIT_CONFIG = 2  # a setting is missing or malformed
EXIT_TOKEN = 3  # Discord rejected the token
EXIT_INTENTS = 4  # Discord refused the message-content intent
EXIT_SCHEMA = 5  # the settings database was migrated by a newer netexplain
EXIT_SHARDS = 6  # the shard configuration does not fit (Discord's or the other processes')
EXIT_SESSION_LIMIT = 7  # too few of today's session starts left to identify safely
FATAL_EXIT_CODES = (EXIT_CONFIG, EXIT_TOKEN, EXIT_INTENTS, EXIT_SCHEMA, EXIT_SHARDS, EXIT_SESSION_LIMIT)

NO_TOKEN = (
    "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications "
    "and put its token in DISCORD_TOKEN."
)


def fail(sentence: str, code: int = EXIT_FAILURE) -> int:
    """Print one sentence for the operator and return the exit code."""
    print(f"netexplain: {sentence}", file=sys.stderr, flush=True)
    return code


def setup_logging(config: Config) -> None:
    """Text or JSON on stderr, secrets redacted (`bot.logs`); discord.py's HTTP chatter only at DEBUG."""
    logs.setup_logging(config)
    if config.log_level != "DEBUG":
        logging.getLogger("discord.client").addFilter(_QuietReconnects())
        logging.getLogger("discord.shard").addFilter(_QuietReconnects())


def _api_base(config: Config) -> str:
    return config.api_base or discord.http.Route.BASE


def _gateway(config: Config) -> str:
    return config.gateway_url or str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


_CLOSE_CODES = {
    4004: (
        "Discord rejected the token in DISCORD_TOKEN; copy it again from the developer portal.",
        EXIT_TOKEN,
    ),
    4010: (
        "Discord refused the shard numbers: NETEXPLAIN_SHARDS must name shards below its total.",
        EXIT_SHARDS,
    ),
    4011: (
        "Discord requires more shards for this bot (at most 2,500 servers per shard): unset "
        "NETEXPLAIN_SHARDS to open Discord's recommended count, or raise its total.",
        EXIT_SHARDS,
    ),
    4013: ("Discord refused the gateway intents this bot asked for.", EXIT_INTENTS),
}


def explain_failure(exc: BaseException, config: Config) -> str:
    """The sentence for a start-up or connection failure."""
    return classify_failure(exc, config)[0]


def classify_failure(exc: BaseException, config: Config) -> tuple[str, int]:
    """The sentence and the exit code for a start-up or connection failure."""
    if isinstance(exc, discord.LoginFailure):
        return (
            "Discord rejected the token in DISCORD_TOKEN; copy it again from the developer portal.",
            EXIT_TOKEN,
        )
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return (
            "Discord refused the message-content intent: enable it for the bot in the developer portal "
            "(Bot → Privileged Gateway Intents), or unset NETEXPLAIN_MESSAGE_CONTENT.",
            EXIT_INTENTS,
        )
    if isinstance(exc, SchemaTooNew):
        return str(exc), EXIT_SCHEMA
    if isinstance(exc, ShardConflict):
        return str(exc), EXIT_SHARDS
    if isinstance(exc, SessionStartsLow):
        return str(exc), EXIT_SESSION_LIMIT
    if isinstance(exc, StartupError):
        cause = exc.__cause__
        if isinstance(cause, SchemaTooNew):
            return str(cause), EXIT_SCHEMA
        return str(exc), EXIT_FAILURE
    if isinstance(exc, discord.GatewayNotFound | discord.ConnectionClosed):
        code = getattr(exc, "code", None)
        if code in _CLOSE_CODES:
            return _CLOSE_CODES[code]
        return f"The Discord gateway at {_gateway(config)} closed the connection" + (
            f" (code {code})." if code else "."
        ), EXIT_FAILURE
    if isinstance(exc, discord.HTTPException):
        return f"Discord answered {exc.status} while logging in: {exc.text or exc}.", EXIT_FAILURE
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return (
            f"Could not reach the Discord API at {_api_base(config)}: {exc or type(exc).__name__}.",
            EXIT_FAILURE,
        )
    return f"netexplain stopped after an unexpected {type(exc).__name__}: {exc}", EXIT_FAILURE


def _is_explained(exc: BaseException, config: Config) -> bool:
    return classify_failure(exc, config)[1] != EXIT_FAILURE or isinstance(exc, StartupError)


class _QuietReconnects(logging.Filter):
    """discord.py logs every reconnect attempt with a full traceback; one line is enough below DEBUG."""

    _RETRIES = ("Attempting a reconnect", "Failed to connect for shard_id")  # Client, AutoShardedClient

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage().startswith(self._RETRIES):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()} ({type(exc).__name__}: {exc})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


async def _connected_within(bot: NetexplainBot, seconds: float) -> bool:
    try:
        await asyncio.wait_for(bot.connected_once.wait(), timeout=seconds)
    except TimeoutError:
        return False
    return True


async def _start_health(bot: NetexplainBot, config: Config) -> HealthServer | None:
    if config.health_port is None:
        return None
    try:
        return await HealthServer(
            bot, config.health_host, config.health_port, config.health_allowed_hosts
        ).start()
    except OSError as exc:
        raise StartupError(
            f"Could not listen for health checks on {config.health_host}:{config.health_port} "
            f"(NETEXPLAIN_HEALTH_HOST/NETEXPLAIN_HEALTH_PORT): {exc.strerror or exc}."
        ) from None


async def _open_store(config: Config) -> SettingsStore | int:
    """The settings store, migrated; or the exit code after saying why it could not be opened."""
    try:
        return await open_store(config)
    except SchemaTooNew as exc:
        return fail(str(exc), EXIT_SCHEMA)
    except Exception as exc:
        log.debug("opening the settings database failed", exc_info=exc)
        return fail(store_failure_sentence(config, exc))


async def _run(config: Config) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # Windows has no signal handlers
            loop.add_signal_handler(sig, stop.set)
    store = await _open_store(config)
    if isinstance(store, int):
        return store
    bot = create_bot(config, store=store)
    try:
        health = await _start_health(bot, config)
    except StartupError as exc:
        await store.close()
        return fail(str(exc))
    try:
        return await _serve(bot, config, stop)
    finally:
        if health is not None:
            await health.stop()


async def _serve(bot: NetexplainBot, config: Config, stop: asyncio.Event) -> int:
    async with bot:
        start = asyncio.create_task(bot.start(config.token.reveal()), name="netexplain-bot")
        stopping = asyncio.create_task(stop.wait(), name="netexplain-stop")
        watchdog = asyncio.create_task(
            _connected_within(bot, config.connect_timeout), name="netexplain-watchdog"
        )
        fatal = asyncio.create_task(bot.fatal.wait(), name="netexplain-fatal")
        pending: set[asyncio.Task[object]] = {start, stopping, watchdog, fatal}  # type: ignore[arg-type]
        code = EXIT_OK
        while True:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if start in done:
                exc = start.exception()
                if exc is not None:
                    log.debug("start-up failed", exc_info=exc)
                    if (
                        bot.user is not None
                        and not bot.connected_once.is_set()
                        and not _is_explained(exc, config)
                    ):
                        # Logged in over REST but never reached the gateway (discord.py 2.7 then dies
                        # with an AttributeError on its first reconnect).
                        code = fail(f"Could not connect to the Discord gateway at {_gateway(config)}.")
                    else:
                        code = fail(*classify_failure(exc, config))
                break
            if fatal in done:
                assert bot.fatal_error is not None
                code = fail(*classify_failure(bot.fatal_error, config))
                break
            if stopping in done:
                log.info("stopping on a signal: no new events; answers in flight may finish")
                await bot.drain(config.shutdown_timeout)
                break
            if watchdog in done:
                if watchdog.result():
                    continue  # connected: keep waiting for the bot or a signal
                code = fail(
                    f"Could not connect to the Discord gateway at {_gateway(config)} "
                    f"within {config.connect_timeout:g} seconds."
                )
                break
        for task in pending:
            task.cancel()
        await bot.close()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    if stop.is_set():
        log.info("stopped: gateway and settings database closed")
    return code


def run_bot(config: Config) -> int:
    """`netexplain run`: connect and answer until stopped; the exit code says how it ended."""
    if not config.token:
        return fail(NO_TOKEN, EXIT_CONFIG)
    setup_logging(config)
    point_discord_py_at(config.api_base, config.gateway_url)
    try:
        return asyncio.run(_run(config))
    except KeyboardInterrupt:
        return EXIT_OK


async def _sync(config: Config, guild_id: int | None) -> int:
    # The settings store is irrelevant to syncing; an in-memory one keeps `sync` from touching the DB.
    bot = NetexplainBot(config, store=await SQLiteSettingsStore(":memory:").open())
    async with bot:
        await bot.login(config.token.reveal())  # HTTP only: runs setup_hook, never opens the gateway
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            bot.tree.copy_global_to(guild=guild)
            synced = await bot.tree.sync(guild=guild)
            where = f"to server {guild_id}"
        else:
            synced = await bot.tree.sync()
            where = "globally (Discord may take up to an hour to show them everywhere)"
    print(f"Synced {len(synced)} commands {where}: {', '.join(sorted(c.name for c in synced))}.")
    return EXIT_OK


def sync_commands(config: Config, guild_id: int | None = None) -> int:
    """`netexplain sync [--guild ID]`: publish the slash commands over HTTP, without the gateway."""
    if not config.token:
        return fail(NO_TOKEN, EXIT_CONFIG)
    setup_logging(config)
    point_discord_py_at(config.api_base, config.gateway_url)
    try:
        return asyncio.run(_sync(config, guild_id))
    except KeyboardInterrupt:
        return EXIT_FAILURE
    except Exception as exc:
        log.debug("sync failed", exc_info=exc)
        if isinstance(exc, discord.Forbidden):
            return fail(
                "Discord refused the sync: invite the bot with the applications.commands scope "
                "(and into that server, for --guild)."
            )
        return fail(explain_failure(exc, config))


def main() -> int:
    """Run the bot configured from the environment (what `netexplain run` does)."""
    try:
        config = load_config()
    except ConfigError as exc:
        return fail(str(exc), EXIT_CONFIG)
    return run_bot(config)


if __name__ == "__main__":
    sys.exit(main())
