"""The discord.py bot: intents, allowed mentions, start-up work, and the one error handler.

Everything a cog needs is an attribute here: `config`, `kb` (the knowledge base, loaded once),
`store` (guild settings) and `linker` (question → answer, so answers follow edits and deletes).
Operations live here too: `metrics` (fed by the events below), `gateway_connected()` for `/readyz`,
and `drain()`, which stops taking events and lets answers in flight finish before `close()`.

The bot is always discord.py's `AutoShardedBot`: without `NETEXPLAIN_SHARDS` it asks Discord
(`GET /gateway/bot`) how many shards to open and opens all of them; with it, the range it names.
`create_bot(config)` builds it.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import gc
import ipaddress
import logging
import pkgutil
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.ext import commands

import bot.cogs
from bot.cogs._linker import AnswerLinker
from bot.config import Config
from bot.kb import Knowledge, load_knowledge
from bot.metrics import BotMetrics
from bot.shards import IdentifyGate, SessionStartLimit, SessionStartsLow, ShardRegistry
from bot.store import SchemaTooNew, SettingsStore, open_store

log = logging.getLogger(__name__)

# Names discord.py gives the tasks that run event listeners, app commands, and view/modal callbacks:
# the answers in flight that a graceful shutdown waits for.
_IN_FLIGHT_TASK_PREFIXES = (
    "discord.py: ",
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-modal-dispatch-",
)

APOLOGY = "Sorry, something went wrong on my side while answering. It has been logged; please try again."


class StartupError(RuntimeError):
    """Start-up could not finish; the message is one sentence for the operator."""


def store_failure_sentence(config: Config, exc: BaseException) -> str:
    """The operator's sentence for a settings database that could not be opened."""
    if isinstance(exc, SchemaTooNew):
        return str(exc)
    return (
        f"The settings database at {config.database_label} could not be opened: "
        f"{str(exc).rstrip('.') or type(exc).__name__}."
    )


def discover_extensions() -> Iterator[str]:
    """Every public module in `bot/cogs/` (private helpers start with `_`)."""
    for module in pkgutil.iter_modules(bot.cogs.__path__, bot.cogs.__name__ + "."):
        if not module.name.rsplit(".", 1)[-1].startswith("_"):
            yield module.name


def settle_heap() -> None:
    """Keep the garbage collector off what lives as long as the process.

    Called once start-up has loaded the knowledge base: `gc.freeze()` takes every object alive then
    (the knowledge base, the code: about 50,000 objects, which each full collection walked for some
    50 ms) out of all later collections. Python's thresholds stay: raising the first one to 2,000
    made young collections rarer for the same total time, and 10,000 left garbage cycles (expired
    answer buttons, for one) waiting so long that the memory benchmark's RSS rose 12 MiB higher.
    """
    gc.collect()
    gc.freeze()


def point_discord_py_at(api_base: str | None, gateway_url: str | None) -> None:
    """Send REST calls to `api_base` and the websocket to `gateway_url` instead of discord.com.

    `Route.BASE` must be set after any `_set_api_version()` call, which rewrites it; interaction
    callbacks and webhooks use the same `Route`, so they follow.
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def _is_loopback_url(url: str | None) -> bool:
    host = urlsplit(url or "").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def user_sentence(error: BaseException) -> str | None:
    """The one sentence a user sees for an error they can cause; None for our own failures."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down a little: try again <t:{int(time.time() + error.retry_after) + 1}:R>."
    if isinstance(error, app_commands.MissingPermissions):
        return "You need the Manage Server permission to change netexplain's settings here."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works in a server."
    if isinstance(error, app_commands.BotMissingPermissions):
        missing = ", ".join(p.replace("_", " ") for p in error.missing_permissions)
        return f"I am missing a permission in this channel: {missing}."
    if isinstance(error, app_commands.TransformerError):
        return "I could not understand one of the options; please pick it from the list."
    if isinstance(error, app_commands.CheckFailure):
        return "Only the bot's owner can do that."
    if isinstance(error, discord.Forbidden):
        return "Discord did not let me post there; check my permissions in this channel."
    return None


class NetexplainBot(commands.AutoShardedBot):
    """netexplain on Discord: no prefix commands, no pings, no privileged intent unless watching.

    `shard_ids`/`shard_count` name this process's shards (`NETEXPLAIN_SHARDS=0-3/16`: shards 0..3 of
    16); without them, Discord's recommended count, all in this process.
    """

    def __init__(
        self,
        config: Config,
        *,
        store: SettingsStore | None = None,
        knowledge_loader: Callable[[], Knowledge] = load_knowledge,
        **shard_options: Any,
    ) -> None:
        # netexplain never joins voice: don't warn at every start that voice libraries are missing.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        intents = discord.Intents.default()
        intents.message_content = config.message_content
        options: dict[str, Any] = dict(shard_options)  # shard_ids/shard_count: this process's range
        if _is_loopback_url(config.gateway_url):
            # READY waits this long for GUILD_CREATEs; a local server sends them at once.
            options["guild_ready_timeout"] = 0.1
        super().__init__(
            command_prefix=[],
            help_command=None,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            owner_ids=set(config.owner_ids) or None,
            # No message cache: edits, deletes and reactions are handled from their raw events and the
            # 🔎 click fetches its message, so the cache would only hold 1,000 messages for nobody.
            max_messages=None,
            http_trace=self._count_rate_limits(),
            **options,
        )
        self.config = config
        self._store = store
        self._knowledge_loader = knowledge_loader
        self._kb: Knowledge | None = None
        self.linker = AnswerLinker()
        self.connected_once = asyncio.Event()
        self.draining = False  # set by drain(): gateway events are dropped from then on
        self.metrics = BotMetrics()
        # Set by the explain cog: called for every message from this one `on_message`, so a message
        # costs one task, not one per listener (discord.py starts a task for each).
        self.message_handler: Callable[[discord.Message], Awaitable[None]] | None = None
        self._connects = 0
        self.identify_gate = IdentifyGate()
        self.session_limit: SessionStartLimit | None = None
        # Set when the bot must stop for a reason a restart cannot fix (the runner waits on it).
        self.fatal = asyncio.Event()
        self.fatal_error: BaseException | None = None
        self._watch_metrics()
        self._guard_parsers()

    # ------------------------------------------------------------------ start-up

    @property
    def kb(self) -> Knowledge:
        """The knowledge base (loaded in `setup_hook`)."""
        if self._kb is None:
            raise RuntimeError("the knowledge base is loaded in setup_hook")
        return self._kb

    @property
    def store(self) -> SettingsStore:
        """Guild settings (opened in `setup_hook`)."""
        if self._store is None:
            raise RuntimeError("the settings store is opened in setup_hook")
        return self._store

    async def setup_hook(self) -> None:
        """Load the knowledge base and settings, then every extension, then `settle_heap()`. Never syncs."""
        try:
            self._kb = await asyncio.to_thread(self._knowledge_loader)
        except Exception as exc:
            raise StartupError(f"The knowledge base could not be loaded: {exc}") from exc
        if self._store is None:
            try:
                self._store = await open_store(self.config)
            except Exception as exc:
                raise StartupError(store_failure_sentence(self.config, exc)) from exc
        self.tree.on_error = self.on_app_command_error
        for name in discover_extensions():
            await self.load_extension(name)
        settle_heap()
        log.info("loaded extensions: %s", ", ".join(sorted(self.extensions)))

    async def on_connect(self) -> None:
        """Mark the first gateway connection (the runner's connect timeout waits for it)."""
        self.connected_once.set()
        # READY once per shard is the normal start; every READY after that is a reconnect.
        self._connects += 1
        if self._connects > self.shard_count_here:
            self.metrics.reconnects.inc()

    async def on_resumed(self) -> None:
        """A dropped gateway connection came back with its session."""
        self.metrics.reconnects.inc()

    async def on_disconnect(self) -> None:
        """A gateway connection was lost (discord.py reconnects by itself)."""
        self.metrics.disconnects.inc()

    async def on_ready(self) -> None:
        """Log who we are and where, once per READY."""
        log.info(
            "ready as %s (id %s) in %d servers", self.user, getattr(self.user, "id", "?"), len(self.guilds)
        )

    async def on_message(self, message: discord.Message) -> None:
        """No prefix commands (so no `process_commands`): count the message, then hand it over."""
        if self.user is None or message.author.id != self.user.id:
            self.metrics.messages_seen.inc()
        if self.message_handler is not None:
            await self.message_handler(message)

    async def launch_shards(self) -> None:
        """Learn the shard count and session starts, claim this process's range, connect every shard.

        Without `NETEXPLAIN_SHARDS` the count is Discord's recommendation, all in this process. With a
        range and PostgreSQL, the range is registered there first (`bot.shards.ShardRegistry`).
        """
        if self.is_closed():
            return
        count, _url, limits = await self.http.get_bot_gateway()
        self.session_limit = SessionStartLimit.from_payload(dict(limits))
        self.identify_gate.max_concurrency = self.session_limit.max_concurrency
        if self.shard_count is None:
            self.shard_count = count
            log.info(
                "Discord recommends %d shard%s: opening all of them here", count, "" if count == 1 else "s"
            )
        ids = self.shard_ids_here()
        self.session_limit.check(len(ids))
        log.info(
            "shards %s of %d here; %d of %d session starts left today, %d identify at a time",
            f"{ids[0]}-{ids[-1]}",
            self.shard_count,
            self.session_limit.remaining,
            self.session_limit.total,
            self.session_limit.max_concurrency,
        )
        if self.config.uses_postgres:
            registry = await ShardRegistry(self.config.db_url.reveal(), on_conflict=self.stop_for).open()
            self.identify_gate.registry = registry
            await registry.register(ids[0], ids[-1], self.shard_count)
        # With the count known, discord.py connects to DEFAULT_GATEWAY, which NETEXPLAIN_GATEWAY_URL
        # may have pointed elsewhere, instead of the URL /gateway/bot returned.
        await super().launch_shards()

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        """Take the shard's identify turn (every process, with PostgreSQL); stop if starts run low."""
        shard = shard_id or 0
        waited = await self.identify_gate.wait_turn(shard)
        if not initial:  # the first identifies were checked together in launch_shards
            try:
                _, _, limits = await self.http.get_bot_gateway()
            except (discord.HTTPException, OSError) as exc:
                log.warning("could not read the session start limit before identifying: %s", exc)
            else:
                self.session_limit = SessionStartLimit.from_payload(dict(limits))
                try:
                    self.session_limit.check(1)
                except SessionStartsLow as exc:
                    self.stop_for(exc)
                    await asyncio.Event().wait()  # never identify; close() cancels this
        log.info(
            "shard %d identifies (bucket %d, waited %.1fs)", shard, self.identify_gate.bucket(shard), waited
        )
        self.metrics.identifies.inc(str(shard))
        if self.session_limit is not None:  # this identify spends one (until the next read says)
            self.session_limit = dataclasses.replace(
                self.session_limit, remaining=self.session_limit.remaining - 1
            )

    def stop_for(self, error: BaseException) -> None:
        """Ask the runner to stop the bot and exit with the code for `error`."""
        if self.fatal_error is None:
            self.fatal_error = error
        self.fatal.set()

    async def close(self) -> None:
        """Close the gateway, then the settings store."""
        # discord.py's AutoShardedClient.close() assumes connect() ran (it creates the event queue
        # there); a start-up failure before connecting (a rejected token) must still close cleanly.
        if not hasattr(self, "_AutoShardedClient__queue"):
            self._AutoShardedClient__queue: asyncio.PriorityQueue[Any] = asyncio.PriorityQueue()
        await super().close()
        if self.identify_gate.registry is not None:
            await self.identify_gate.registry.close()
        if self._store is not None:
            await self._store.close()

    # ------------------------------------------------------------------ operations

    @property
    def shard_count_here(self) -> int:
        """How many gateway connections this process holds (or will, once Discord said how many)."""
        if self.shard_ids:
            return len(self.shard_ids)
        return self.shard_count or 1

    def shard_ids_here(self) -> list[int]:
        """The shard ids this process holds (empty until the count is known)."""
        if self.shard_ids:
            return list(self.shard_ids)
        return list(range(self.shard_count)) if self.shard_count else []

    def shards_down(self) -> list[int]:
        """The shards of this process that are not connected now."""
        shards = self.shards
        return [shard for shard in self.shard_ids_here() if shard not in shards or shards[shard].is_closed()]

    def gateway_connected(self) -> bool:
        """True when every shard of this process is open and READY was received on all of them."""
        return (
            self.is_ready()
            and not self.is_closed()
            and bool(self.shard_ids_here())
            and not self.shards_down()
        )

    @property
    def knowledge_loaded(self) -> bool:
        """True once `setup_hook` loaded the knowledge base."""
        return self._kb is not None

    def knowledge_summary(self) -> str:
        """A short description of the knowledge base for `/healthz`."""
        if self._kb is None:
            return "not loaded"
        return f"{len(self._kb.entries)} entries, {len(self._kb.iana)} registered ports"

    def in_flight(self) -> list[asyncio.Task[Any]]:
        """Listener, command and button tasks still running (the answers a shutdown waits for)."""
        current = asyncio.current_task()
        return [
            task
            for task in asyncio.all_tasks()
            if task is not current
            and not task.done()
            and task.get_name().startswith(_IN_FLIGHT_TASK_PREFIXES)
        ]

    async def drain(self, timeout: float) -> int:
        """Stop taking gateway events, then wait up to `timeout` seconds for answers in flight.

        Returns how many were still running when the time ran out (they are cancelled by `close()`).
        """
        self.draining = True
        pending = self.in_flight()
        if pending:
            log.info("shutting down: waiting up to %gs for %d answers in flight", timeout, len(pending))
            _, still = await asyncio.wait(pending, timeout=timeout)
            if still:
                log.warning("shutting down: %d answers did not finish within %gs", len(still), timeout)
            return len(still)
        return 0

    def _watch_metrics(self) -> None:
        self.metrics.watch(
            "netexplain_gateway_connected",
            "1 when every gateway connection of this process is open.",
            lambda: float(self.gateway_connected()),
        )
        self.metrics.watch("netexplain_guilds", "Servers this process sees.", lambda: float(len(self.guilds)))
        self.metrics.watch(
            "netexplain_shards", "Gateway shards this process holds.", lambda: float(self.shard_count_here)
        )
        self.metrics.watch(
            "netexplain_shard_count",
            "Shards of the whole bot (0 until Discord said).",
            lambda: float(self.shard_count or 0),
        )
        self.metrics.watch_shards(
            "netexplain_shard_connected",
            "1 when this shard's gateway connection is open.",
            lambda: ((shard, float(shard not in self.shards_down())) for shard in self.shard_ids_here()),
        )
        self.metrics.watch_shards(
            "netexplain_shard_guilds",
            "Servers on this shard.",
            lambda: collections.Counter(guild.shard_id for guild in self.guilds).items(),
        )
        self.metrics.watch_shards(
            "netexplain_gateway_latency_seconds",
            "Time between this shard's last heartbeat and its acknowledgement.",
            lambda: ((shard_id, info.latency) for shard_id, info in self.shards.items()),
        )
        self.metrics.watch(
            "netexplain_session_starts_remaining",
            "Discord's daily session starts left, as last read from /gateway/bot (-1: not read yet).",
            lambda: float(self.session_limit.remaining if self.session_limit else -1),
        )

    def _count_rate_limits(self) -> aiohttp.TraceConfig:
        """An aiohttp trace that counts Discord's 429 answers (discord.py waits and retries them)."""
        trace = aiohttp.TraceConfig()

        async def on_request_end(_session: Any, _context: Any, params: aiohttp.TraceRequestEndParams) -> None:
            if params.response.status == 429:
                scope = params.response.headers.get("X-RateLimit-Scope", "user")
                self.metrics.rate_limit_hits.inc(scope if scope in ("user", "global", "shared") else "user")

        trace.on_request_end.append(on_request_end)
        return trace

    def _guard_parsers(self) -> None:
        """Make one malformed gateway event cost one event, not the connection; drop our own messages.

        discord.py's gateway loop only survives network errors: a `KeyError` inside a parser (say, a
        MESSAGE_CREATE without `author`) would end `connect()` and the bot with it.
        """
        parsers = self._connection.parsers
        state = self._connection

        def guarded(event: str, parser: Callable[[Any], None]) -> Callable[[Any], None]:
            own_messages = event == "MESSAGE_CREATE"

            def parse(data: Any) -> None:
                if self.draining:
                    return  # shutting down: take no new work
                try:
                    # Our own messages (every answer comes back as one) are of no use to us: skip
                    # building a Message, its embeds and the message it replies to, and its task.
                    if own_messages and int(data["author"]["id"]) == state.self_id:
                        return
                    parser(data)
                except Exception as exc:
                    # One line: a broken payload is Discord's (or a fake's) problem, not a bug of ours.
                    log.warning("ignored a malformed %s event: %s: %s", event, type(exc).__name__, exc)
                    log.debug("malformed %s event", event, exc_info=exc)

            return parse

        for event, parser in list(parsers.items()):
            parsers[event] = guarded(event, parser)

    # ------------------------------------------------------------------ errors

    def describe_message(self, message: discord.Message | None) -> str:
        """Context for logs: ids always, the text only when NETEXPLAIN_LOG_CONTENT is on."""
        if message is None:
            return "no message"
        guild = message.guild.id if message.guild else "DM"
        text = f"message {message.id} in channel {message.channel.id} (guild {guild}) by {message.author.id}"
        if self.config.log_content:
            text += f": {message.content!r}"
        return text

    def describe_interaction(self, interaction: discord.Interaction[Any]) -> str:
        """Context for logs about an interaction, without its options unless content logging is on."""
        text = (
            f"interaction {interaction.id} by {interaction.user.id} in channel {interaction.channel_id} "
            f"(guild {interaction.guild_id or 'DM'})"
        )
        if self.config.log_content:
            text += f" data={interaction.data!r}"
        return text

    async def report_interaction_error(
        self, interaction: discord.Interaction[Any], error: BaseException, *, where: str
    ) -> None:
        """One handler for commands, menus and buttons: a sentence to the user, context to the log."""
        sentence = user_sentence(error)
        if sentence is None:
            original = getattr(error, "original", error)
            log.error("%s failed: %s", where, self.describe_interaction(interaction), exc_info=original)
            self.metrics.errors.inc("interaction")
            sentence = APOLOGY
        else:
            log.info(
                "%s refused: %s (%s)", where, type(error).__name__, self.describe_interaction(interaction)
            )
        try:
            if interaction.response.is_done():
                await interaction.followup.send(sentence, ephemeral=True)
            else:
                await interaction.response.send_message(sentence, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not tell the user about the error in %s", where)

    async def on_app_command_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """`CommandTree.on_error`: every slash command and context menu error lands here."""
        command = interaction.command
        where = f"/{command.qualified_name}" if command is not None else "an application command"
        await self.report_interaction_error(interaction, error, where=where)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Event listeners: log with context and keep running."""
        context = ", ".join(
            self.describe_message(arg) if isinstance(arg, discord.Message) else type(arg).__name__
            for arg in args
        )
        self.metrics.errors.inc("event")
        log.exception("event %s failed (%s)", event_method, context or "no arguments")


def create_bot(config: Config, **kwargs: Any) -> NetexplainBot:
    """The bot `config` asks for: the shards named by `NETEXPLAIN_SHARDS`, or Discord's recommendation."""
    if config.shards is None:
        return NetexplainBot(config, **kwargs)
    return NetexplainBot(config, shard_ids=config.shards.ids, shard_count=config.shards.count, **kwargs)
