"""A loopback Discord: REST (``/api/v10``) and gateway (``/gateway``) on 127.0.0.1, in memory.

The real, unpatched discord.py client talks to this server after two class attributes are redirected (see
:func:`point_discord_py_at`).  Tests and the local playground page build a small world (guilds, channels,
people), make people act (messages, reactions, slash commands, clicks) and then inspect what the bot did
(:attr:`LoopbackDiscord.messages`, :attr:`LoopbackDiscord.rest_log`, ...).

Discord's rules are reproduced where they change a bot's behaviour: message-content blanking without the
MESSAGE_CONTENT intent, privileged-intent and bad-token close codes, payload size limits (HTTP 400),
``allowed_mentions`` (who would really be pinged), sequence numbers / RESUME, and rate limits on demand.
Everything else is deliberately simple.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import itertools
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import yarl
from aiohttp import web

from bot.playground._limits import invalid_form_body, validate_choices, validate_message

__all__ = ["Interaction", "LoopbackDiscord", "RestCall", "point_discord_py_at"]

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_RESUME = 0, 1, 2, 3, 6
OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 8, 9, 10, 11

# Intent bits.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits used to build roles.
PERM_ADD_REACTIONS = 1 << 6
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_MANAGE_MESSAGES = 1 << 13
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_HISTORY = 1 << 16
PERM_MENTION_EVERYONE = 1 << 17
PERM_EXTERNAL_EMOJIS = 1 << 18
PERM_USE_APP_COMMANDS = 1 << 31
PERM_SEND_IN_THREADS = 1 << 38
PERM_MANAGE_GUILD = 0x20
EVERYONE_PERMS = (
    PERM_ADD_REACTIONS
    | PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_HISTORY
    | PERM_EXTERNAL_EMOJIS
    | PERM_USE_APP_COMMANDS
    | PERM_SEND_IN_THREADS
)
BOT_ROLE_PERMS = EVERYONE_PERMS | PERM_MANAGE_MESSAGES

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Interaction types and callback types.
ITYPE_COMMAND, ITYPE_COMPONENT, ITYPE_AUTOCOMPLETE = 2, 3, 4
CB_PONG, CB_MESSAGE, CB_DEFER, CB_DEFER_UPDATE, CB_UPDATE, CB_AUTOCOMPLETE, CB_MODAL = 1, 4, 5, 6, 7, 8, 9

_MENTION_USER = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE = re.compile(r"<@&(\d+)>")
_GATEWAY_HEARTBEAT_MS = 41250
_ATTACHMENT_SIZE_LIMIT = 26214400

# Keys kept on stored messages for tests but never sent to the bot.
_PRIVATE_KEYS = ("pinged", "allowed_mentions")


def point_discord_py_at(api_base: str, gateway_url: str) -> Callable[[], None]:
    """Redirect discord.py's REST base and default gateway; return a function that restores both.

    Both are class attributes shared by every client in the process, so tests must call the returned
    function (e.g. in a fixture's teardown) to avoid leaking the redirect into later tests.
    """
    import discord.gateway
    import discord.http

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)

    def restore() -> None:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway

    return restore


def bound_port(site: web.TCPSite) -> int:
    """The port a started site listens on: with port 0 the OS picked a free one; read it back."""
    sockets = getattr(site._server, "sockets", None) or []
    return int(sockets[0].getsockname()[1])


def _const(value: Any) -> Callable[[], Any]:
    """A zero-argument function returning ``value`` (binds it now, unlike a lambda in a loop)."""
    return lambda: value


def _now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON response with ``Content-Type`` exactly ``application/json``.

    discord.py's ``json_or_text`` compares the header for equality, so aiohttp's ``json_response`` (which
    appends ``; charset=utf-8``) would make it treat the body as text.
    """
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def _error(status: int, message: str, code: int = 0, **extra: Any) -> web.Response:
    return _json_response({"message": message, "code": code, **extra}, status=status)


def _no_content() -> web.Response:
    return web.Response(status=204)


@dataclass
class RestCall:
    """One REST request the bot made, as recorded by the server."""

    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any
    status: int = 0


@dataclass
class _Fault:
    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float


_UNROUTED = object()  # an event that is not about one guild or DM (or is malformed): every shard gets it


def _guild_of(event: str, data: Any) -> Any:
    """The guild an event belongs to (None for a DM), which decides the shard that receives it."""
    if not isinstance(data, dict):
        return _UNROUTED
    if "guild_id" in data:
        return data["guild_id"]
    if event.startswith("GUILD_") and "id" in data:
        return data["id"]  # GUILD_CREATE/UPDATE/DELETE carry the guild itself
    if event.startswith(("MESSAGE_", "INTERACTION_", "TYPING_", "CHANNEL_PINS_")):
        return None  # no guild_id: a DM
    return _UNROUTED


@dataclass
class _Session:
    """A gateway session: survives websocket drops so RESUME can replay what was missed."""

    id: str
    intents: int
    events: list[dict[str, Any]] = field(default_factory=list)  # every dispatch, index = seq - 1
    sent: int = 0  # how many of ``events`` went out on the current websocket
    ws: web.WebSocketResponse | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    shard: tuple[int, int] = (0, 1)  # IDENTIFY's [shard_id, shard_count]

    def owns(self, guild_id: str | None) -> bool:
        """Discord's rule: a guild's events go to shard ``(guild_id >> 22) % count``; DMs to shard 0."""
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (int(guild_id) >> 22) % count == shard_id

    @property
    def seq(self) -> int:
        return len(self.events)


class Interaction:
    """A person's interaction (slash command, context menu, click, select) and what the bot answered."""

    def __init__(self, server: LoopbackDiscord, payload: dict[str, Any]) -> None:
        self._server = server
        self.payload = payload
        self.id: str = payload["id"]
        self.token: str = payload["token"]
        self.callbacks: list[dict[str, Any]] = []
        self.original_id: str | None = None
        # Set when the first callback arrives; response() waits on it.
        self._responded: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    async def response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The callback body the bot sent (``{"type": 4|5|6|7|8|9, "data": ...}``); waits for it."""
        data = self.payload.get("data") or {}
        what = data.get("name") or data.get("custom_id")
        try:
            return await asyncio.wait_for(asyncio.shield(self._responded), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"the bot did not respond to interaction {self.id} ({what!r}) within {timeout}s"
            ) from None

    def followups(self) -> list[dict[str, Any]]:
        """Followup messages created through this interaction's webhook token (not the @original)."""
        ids = self._server._followups.get(self.token, [])
        return [self._server.messages[mid] for mid in ids if mid in self._server.messages]

    @property
    def original(self) -> dict[str, Any] | None:
        """The @original response message (type-4 response, or the deferred message once edited)."""
        if self.original_id is None:
            return None
        return self._server.messages.get(self.original_id)


class LoopbackDiscord:
    """In-memory Discord-compatible REST + gateway server for one bot, bound to loopback."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str = "loopback-token",
        privileged_intents_allowed: bool = True,
        bot_name: str = "netexplain",
        shard_count: int = 1,
    ) -> None:
        self.host = host
        self.shard_count = shard_count  # what /gateway/bot recommends
        self.port = port
        self.token = token
        self.privileged_intents_allowed = privileged_intents_allowed
        self._last_snowflake = 0
        self._counter = itertools.count()

        self.users: dict[str, dict[str, Any]] = {}
        self.guilds: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.members: dict[str, dict[str, dict[str, Any]]] = {}  # guild_id -> user_id -> member (no user)
        self.messages: dict[str, dict[str, Any]] = {}
        self.reactions: dict[str, list[tuple[str, str]]] = {}
        self.rest_log: list[RestCall] = []
        self.synced_commands: dict[str | None, list[dict[str, Any]]] = {}
        self.interactions: dict[str, Interaction] = {}
        self.identify_payloads: list[dict[str, Any]] = []
        self.gateway_connects = 0
        self.resumes = 0

        self.bot_user = self._make_user(bot_name, bot=True, discriminator="0001")
        self.application_id: str = self._snowflake()
        self.owner_user = self._make_user("app-owner")

        self._dm_by_user: dict[str, str] = {}
        self._followups: dict[str, list[str]] = {}  # interaction token -> followup message ids
        self._faults: list[_Fault] = []
        self._bodies: dict[int, Any] = {}  # parsed request bodies, keyed by id(request) while handled
        self._sessions: dict[str, _Session] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        # Kept so drop_gateway(abrupt=True) can cut the TCP connection without a close frame.
        self._transports: dict[web.WebSocketResponse, asyncio.Transport] = {}
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        # Intents of the latest IDENTIFY: REST reads are blanked with them, as Discord does.
        self._rest_intents: int | None = None

        self.app = web.Application(middlewares=[self._api_middleware])
        self._add_routes()

    # ------------------------------------------------------------------ lifecycle

    @property
    def api_base(self) -> str:
        """REST base URL for ``discord.http.Route.BASE``."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Websocket URL for ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

    async def start(self) -> None:
        """Bind and serve; with ``port=0`` a free port is chosen and stored in :attr:`port`."""
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = bound_port(site)

    async def stop(self) -> None:
        """Close every websocket and stop serving."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"server stopping")
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> LoopbackDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # ------------------------------------------------------------------ ids and objects

    def _snowflake(self) -> str:
        """Time-ordered, strictly increasing snowflake (discord.py derives created_at from it)."""
        value = ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._counter) & 0xFFF)
        value = max(value, self._last_snowflake + 1)
        self._last_snowflake = value
        return str(value)

    def _make_user(self, name: str, *, bot: bool = False, discriminator: str = "0") -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self._snowflake(),
            "username": name,
            "global_name": None if bot else name,
            "discriminator": discriminator,
            "avatar": None,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
            "bot": bot,
            "system": False,
            "public_flags": 0,
            "flags": 0,
        }
        self.users[user["id"]] = user
        return user

    def _add_member(self, guild_id: str, user_id: str, roles: list[str] | None = None) -> dict[str, Any]:
        member = {
            "roles": roles or [],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": _now_iso(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,  # discord.py's Member.__init__ indexes this key directly
            "communication_disabled_until": None,
        }
        self.members.setdefault(guild_id, {})[user_id] = member
        return member

    def _member_with_user(self, guild_id: str, user_id: str) -> dict[str, Any]:
        member = dict(self.members[guild_id][user_id])
        member["user"] = self.users[user_id]
        return member

    def _permissions(self, guild_id: str, user_id: str) -> int:
        guild = self.guilds[guild_id]
        if guild["owner_id"] == user_id:
            return (1 << 50) - 1
        roles = {r["id"]: r for r in guild["roles"]}
        perms = int(roles[guild_id]["permissions"])
        for role_id in self.members.get(guild_id, {}).get(user_id, {}).get("roles", []):
            perms |= int(roles[role_id]["permissions"])
        if perms & 0x8:  # ADMINISTRATOR implies everything
            return (1 << 50) - 1
        return perms

    def _role(self, guild_id: str, name: str, permissions: int, **extra: Any) -> dict[str, Any]:
        guild = self.guilds[guild_id]
        role = {
            "id": guild_id if name == "@everyone" else self._snowflake(),
            "name": name,
            "permissions": str(permissions),
            "position": len(guild["roles"]),
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            **extra,
        }
        guild["roles"].append(role)
        return role

    def _guild_payload(self, guild_id: str, *, full: bool, intents: int = 0) -> dict[str, Any]:
        """A guild object; ``full`` adds the GUILD_CREATE-only keys (channels, members, ...).

        Like Discord, GUILD_CREATE lists every member only with the GUILD_MEMBERS intent; otherwise just
        the bot itself.
        """
        guild = copy.deepcopy(self.guilds[guild_id])
        if full:
            members = self.members.get(guild_id, {})
            if not intents & INTENT_GUILD_MEMBERS:
                members = {uid: m for uid, m in members.items() if uid == self.bot_user["id"]}
            guild.update(
                {
                    "channels": [c for c in self.channels.values() if c.get("guild_id") == guild_id],
                    "members": [self._member_with_user(guild_id, uid) for uid in members],
                    # member_count == len(members) marks the guild as chunked, so a bot with the members
                    # intent does not wait for GUILD_MEMBERS_CHUNK before READY.
                    "member_count": len(self.members.get(guild_id, {})),
                    "threads": [],
                    "presences": [],
                    "voice_states": [],
                    "stage_instances": [],
                    "guild_scheduled_events": [],
                    "soundboard_sounds": [],
                    "large": False,
                    "unavailable": False,
                    "joined_at": members.get(self.bot_user["id"], {}).get("joined_at", _now_iso()),
                }
            )
        return guild

    def _bot_in_guild(self, guild_id: str) -> bool:
        return self.bot_user["id"] in self.members.get(guild_id, {})

    # ------------------------------------------------------------------ world building

    def create_guild(self, name: str = "Test Server") -> dict[str, Any]:
        """Create a guild the bot is in (GUILD_CREATE is dispatched if the bot is already connected)."""
        guild_id = self._snowflake()
        owner = self._make_user(f"{name} owner")
        guild: dict[str, Any] = {
            "id": guild_id,
            "name": name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": owner["id"],
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "features": [],
            "roles": [],
            "emojis": [],
            "stickers": [],
            "max_members": 500000,
            "vanity_url_code": None,
        }
        self.guilds[guild_id] = guild
        self._role(guild_id, "@everyone", EVERYONE_PERMS)
        bot_role = self._role(
            guild_id,
            self.bot_user["username"],
            BOT_ROLE_PERMS,
            managed=True,
            tags={"bot_id": self.bot_user["id"]},
        )
        self._add_member(guild_id, owner["id"])
        self._add_member(guild_id, self.bot_user["id"], [bot_role["id"]])
        self._dispatch_all(
            "GUILD_CREATE",
            lambda: guild_id,
            transform=lambda gid, intents: self._guild_payload(gid, full=True, intents=intents),
        )
        return copy.deepcopy(guild)

    def create_channel(self, guild_id: str, name: str) -> dict[str, Any]:
        """Create a text channel in ``guild_id`` (CHANNEL_CREATE is dispatched to a connected bot)."""
        if guild_id not in self.guilds:
            raise KeyError(f"unknown guild {guild_id}")
        channel: dict[str, Any] = {
            "id": self._snowflake(),
            "type": 0,
            "guild_id": guild_id,
            "name": name,
            "position": sum(1 for c in self.channels.values() if c.get("guild_id") == guild_id),
            "permission_overwrites": [],
            "topic": None,
            "nsfw": False,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "parent_id": None,
            "flags": 0,
        }
        self.channels[channel["id"]] = channel
        if self.guilds[guild_id].get("system_channel_id") is None:
            self.guilds[guild_id]["system_channel_id"] = channel["id"]
        self._dispatch_all("CHANNEL_CREATE", lambda: dict(channel))
        return dict(channel)

    def create_user(
        self, name: str, *, bot: bool = False, manage_guild: bool = False, guild_id: str | None = None
    ) -> dict[str, Any]:
        """Create a person (or another bot); with ``guild_id`` they are a member of that guild.

        ``manage_guild`` gives them a "Moderators" role carrying MANAGE_GUILD (0x20).
        """
        user = self._make_user(name, bot=bot)
        if guild_id is not None:
            if guild_id not in self.guilds:
                raise KeyError(f"unknown guild {guild_id}")
            roles: list[str] = []
            if manage_guild:
                roles.append(self._moderator_role(guild_id)["id"])
            self._add_member(guild_id, user["id"], roles)
            self._dispatch_all(
                "GUILD_MEMBER_ADD",
                lambda: {**self._member_with_user(guild_id, user["id"]), "guild_id": guild_id},
                intent=INTENT_GUILD_MEMBERS,
            )
        elif manage_guild:
            raise ValueError("manage_guild needs a guild_id")
        return dict(user)

    def _moderator_role(self, guild_id: str) -> dict[str, Any]:
        for role in self.guilds[guild_id]["roles"]:
            if role["name"] == "Moderators":
                return dict(role)
        role = self._role(guild_id, "Moderators", EVERYONE_PERMS | PERM_MANAGE_GUILD | PERM_MENTION_EVERYONE)
        self._dispatch_all("GUILD_ROLE_CREATE", lambda: {"guild_id": guild_id, "role": dict(role)})
        return role

    def add_member(self, guild_id: str, user_id: str) -> dict[str, Any]:
        """Make an existing user a member of another guild."""
        member = self._add_member(guild_id, user_id)
        self._dispatch_all(
            "GUILD_MEMBER_ADD",
            lambda: {**self._member_with_user(guild_id, user_id), "guild_id": guild_id},
            intent=INTENT_GUILD_MEMBERS,
        )
        return member

    def dm_channel(self, user_id: str) -> dict[str, Any]:
        """The DM channel between ``user_id`` and the bot (created on first use)."""
        if user_id not in self.users:
            raise KeyError(f"unknown user {user_id}")
        channel_id = self._dm_by_user.get(user_id)
        if channel_id is None:
            channel_id = self._snowflake()
            self.channels[channel_id] = {
                "id": channel_id,
                "type": 1,
                "recipients": [self.users[user_id]],
                "last_message_id": None,
                "flags": 0,
            }
            self._dm_by_user[user_id] = channel_id
        return copy.deepcopy(self.channels[channel_id])

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Current messages in a channel, oldest first (ephemeral ones included, flagged 64)."""
        return [m for m in self.messages.values() if m["channel_id"] == channel_id]

    # ------------------------------------------------------------------ state observation

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving every state change from now on, as ``{"type": ..., ...}``.

        Types: ``message_create``/``message_update`` (``message``), ``message_delete`` (``message_id``,
        ``channel_id``), ``reaction_add``/``reaction_remove`` (``message_id``, ``user_id``, ``emoji``),
        ``interaction_create`` (``interaction``), ``interaction_response`` (``interaction_id``, ``response``),
        ``commands_synced`` (``guild_id``, ``commands``), ``typing`` (``channel_id``), ``gateway_connect``,
        ``gateway_identify``, ``gateway_resume``, ``gateway_disconnect``.  Messages include ``pinged``.
        """
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop feeding a queue returned by :meth:`subscribe`."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    def _publish(self, kind: str, **data: Any) -> None:
        if not self._subscribers:
            return  # nobody is watching: skip the copy, which costs milliseconds per message
        event = {"type": kind, **copy.deepcopy(data)}
        for queue in self._subscribers:
            queue.put_nowait(event)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll until ``predicate()`` is truthy and return its value.

        Exceptions from the predicate (e.g. ``KeyError`` before a message exists) count as "not yet"; the
        last one is reported in the ``TimeoutError`` together with the bot's latest REST calls.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        last_exc: BaseException | None = None
        while True:
            try:
                value = predicate()
            except Exception as exc:
                last_exc, value = exc, None
            if value:
                return value
            if asyncio.get_running_loop().time() >= deadline:
                recent = ", ".join(f"{c.method} {c.path} -> {c.status}" for c in self.rest_log[-5:]) or "none"
                name = getattr(predicate, "__qualname__", repr(predicate))
                detail = f"; last predicate error: {last_exc!r}" if last_exc else ""
                raise TimeoutError(
                    f"wait_for({name}) still falsy after {timeout}s{detail}; last REST calls: {recent}"
                )
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ faults

    def fail_next(
        self, method: str, path_regex: str, status: int, count: int = 1, retry_after: float = 0.05
    ) -> None:
        """Make the next ``count`` REST calls matching ``method`` (or ``"*"``) and ``path_regex`` fail.

        ``path_regex`` is searched in the path relative to ``/api/v10``, e.g. ``r"/channels/\\d+/messages$"``.
        429 answers carry ``retry_after``, ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers, which
        discord.py needs in order to sleep and retry instead of raising.  Note discord.py waits 1 s before
        retrying a 5xx.
        """
        self._faults.append(_Fault(method.upper(), re.compile(path_regex), status, count, retry_after))

    async def drop_gateway(self, *, abrupt: bool = False) -> None:
        """Close every gateway websocket so the client reconnects and RESUMEs.

        By default closes with 4000 (a resumable code); ``abrupt=True`` cuts the TCP connection instead,
        which the client sees as an abnormal closure (1006).  Sessions survive, so missed events replay.
        """
        for session in self._sessions.values():
            session.ws = None
        for ws in list(self._sockets):
            transport = self._transports.get(ws)
            if abrupt and transport is not None:
                transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close(code=4000, message=b"loopback drop")

    async def invalidate_sessions(self) -> None:
        """Send INVALID_SESSION (not resumable) to connected clients and forget every session.

        discord.py then reconnects with a fresh IDENTIFY (a new READY and GUILD_CREATEs follow).
        """
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            if session.ws is not None and not session.ws.closed:
                with contextlib.suppress(Exception):
                    await session.ws.send_str(json.dumps({"op": OP_INVALID_SESSION, "d": False}))

    async def send_raw_dispatch(self, event: str, data: Any) -> None:
        """Dispatch an arbitrary (possibly malformed) event to every session, unchanged.

        Beware: discord.py does not guard its parsers, so a malformed *known* event (e.g. a MESSAGE_CREATE
        without ``type``) raises out of ``Client.start`` and stops the client; unknown event names are
        logged and ignored.
        """
        self._dispatch_all(event, lambda: data)
        await asyncio.sleep(0)

    # ------------------------------------------------------------------ gateway

    def _dispatch_all(
        self,
        event: str,
        make: Callable[[], Any],
        *,
        intent: int | None = None,
        transform: Callable[[Any, int], Any] | None = None,
    ) -> None:
        """Queue an op-0 event on every session (sequence numbers assigned now, synchronously).

        Assigning the sequence synchronously keeps events in call order even when the caller is a plain
        function such as :meth:`create_guild`; each session's writer task sends them.
        """
        if not self._sessions:
            return
        data = make()
        guild_id = _guild_of(event, data)
        for session in self._sessions.values():
            if intent is not None and not session.intents & intent:
                continue
            if guild_id is not _UNROUTED and not session.owns(guild_id):
                continue  # another shard's guild (or a DM, which only shard 0 gets)
            payload = transform(data, session.intents) if transform else data
            self._queue(session, event, payload)

    def _queue(self, session: _Session, event: str, data: Any) -> None:
        session.events.append({"op": OP_DISPATCH, "t": event, "s": session.seq + 1, "d": data})
        session.wake.set()

    async def _writer(self, session: _Session, ws: web.WebSocketResponse) -> None:
        """Send queued dispatches in order while ``ws`` is this session's socket."""
        try:
            while session.ws is ws and not ws.closed:
                await session.wake.wait()
                session.wake.clear()
                while session.ws is ws and session.sent < len(session.events) and not ws.closed:
                    # Plain text frames: discord.py only decompresses bytes frames.
                    await ws.send_str(json.dumps(session.events[session.sent]))
                    session.sent += 1
        except (ConnectionResetError, RuntimeError, aiohttp.ClientConnectionResetError):
            return

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.gateway_connects += 1
        self._sockets.add(ws)
        if request.transport is not None:
            self._transports[ws] = request.transport
        self._publish("gateway_connect", count=self.gateway_connects)
        session: _Session | None = None
        writer: asyncio.Task[Any] | None = None
        try:
            await ws.send_str(
                json.dumps({"op": OP_HELLO, "d": {"heartbeat_interval": _GATEWAY_HEARTBEAT_MS}})
            )
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                    op = frame.get("op")
                except (ValueError, AttributeError):
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                data = frame.get("d")
                if op == OP_HEARTBEAT:
                    await ws.send_str(json.dumps({"op": OP_HEARTBEAT_ACK}))
                elif op == OP_IDENTIFY:
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated.")
                        break
                    session = await self._identify(ws, data or {})
                    if session is None:
                        break
                    writer = self._spawn(self._writer(session, ws))
                elif op == OP_RESUME:
                    session = await self._resume(ws, data or {})
                    if session is not None:
                        writer = self._spawn(self._writer(session, ws))
                elif op == OP_REQUEST_MEMBERS:
                    if session is not None:
                        self._members_chunk(session, data or {})
                elif op in (OP_PRESENCE, 4):
                    pass  # presence / voice state updates: accepted and ignored
                elif session is None:
                    await ws.close(code=4003, message=b"Not authenticated.")
                    break
                else:
                    await ws.close(code=4001, message=b"Unknown opcode.")
                    break
        finally:
            self._sockets.discard(ws)
            self._transports.pop(ws, None)
            if session is not None and session.ws is ws:
                session.ws = None
                session.wake.set()  # let the writer notice and exit
            if writer is not None:
                writer.cancel()
            self._publish("gateway_disconnect", close_code=ws.close_code)
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> _Session | None:
        self.identify_payloads.append(copy.deepcopy(data))
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS and not self.privileged_intents_allowed:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        shard = data.get("shard") or [0, 1]
        try:
            shard_id, shard_count = int(shard[0]), int(shard[1])
        except (TypeError, ValueError, IndexError):
            shard_id, shard_count = -1, 0
        if not 0 <= shard_id < shard_count:
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        session = _Session(id=secrets.token_hex(16), intents=intents, ws=ws, shard=(shard_id, shard_count))
        self._sessions[session.id] = session
        self._rest_intents = intents
        self._publish("gateway_identify", intents=intents, session_id=session.id)
        guild_ids = [gid for gid in self.guilds if self._bot_in_guild(gid) and session.owns(gid)]
        self._queue(
            session,
            "READY",
            {
                "v": 10,
                "user": {**self.bot_user, "verified": True, "mfa_enabled": False, "email": None},
                "guilds": [{"id": gid, "unavailable": True} for gid in guild_ids],
                "session_id": session.id,
                "session_type": "normal",
                # discord.py reconnects to this URL on RESUME, so it must point back here.
                "resume_gateway_url": self.gateway_url,
                "application": {"id": self.application_id, "flags": 0},
                "private_channels": [],
                "relationships": [],
                "presences": [],
                "shard": data.get("shard", [0, 1]),
                "_trace": ["loopback"],
            },
        )
        for gid in guild_ids:
            self._queue(session, "GUILD_CREATE", self._guild_payload(gid, full=True, intents=intents))
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> _Session | None:
        session = self._sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") != self.token:
            # d=false: not resumable, the client must IDENTIFY again.
            await ws.send_str(json.dumps({"op": OP_INVALID_SESSION, "d": False}))
            return None
        old = session.ws
        if old is not None and old is not ws:
            with contextlib.suppress(Exception):
                await old.close(code=4000)
        self.resumes += 1
        session.ws = ws
        seq = data.get("seq")
        session.sent = max(0, min(int(seq or 0), len(session.events)))  # replay everything after seq
        self._queue(session, "RESUMED", {"_trace": ["loopback"]})
        self._publish("gateway_resume", session_id=session.id, seq=seq)
        return session

    def _members_chunk(self, session: _Session, data: dict[str, Any]) -> None:
        guild_id = str(data.get("guild_id"))
        members = self.members.get(guild_id, {})
        wanted = {str(u) for u in data.get("user_ids") or []}
        query = (data.get("query") or "").lower()
        chosen = [
            self._member_with_user(guild_id, uid)
            for uid in members
            if (not wanted or uid in wanted) and self.users[uid]["username"].lower().startswith(query)
        ]
        payload: dict[str, Any] = {
            "guild_id": guild_id,
            "members": chosen,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
        }
        if data.get("nonce") is not None:
            payload["nonce"] = data["nonce"]
        self._queue(session, "GUILD_MEMBERS_CHUNK", payload)

    # ------------------------------------------------------------------ message visibility

    def _content_visible(self, message: dict[str, Any], intents: int) -> bool:
        """Discord's MESSAGE_CONTENT rule: without the intent, only DMs, mentions and own messages."""
        if intents & INTENT_MESSAGE_CONTENT or message.get("guild_id") is None:
            return True
        bot_id = self.bot_user["id"]
        if message["author"]["id"] == bot_id:
            return True
        if any(u["id"] == bot_id for u in message.get("mentions") or []):
            return True
        ref = message.get("referenced_message")
        return bool(ref and ref["author"]["id"] == bot_id)

    def _as_seen(self, message: dict[str, Any], intents: int | None) -> dict[str, Any]:
        """The message as the bot receives it: private keys stripped, content blanked per intents."""
        out = {k: v for k, v in message.items() if k not in _PRIVATE_KEYS}
        if intents is not None and not self._content_visible(message, intents):
            out.update(content="", embeds=[], attachments=[], components=[])
            out.pop("poll", None)
        ref = message.get("referenced_message")
        if ref is not None:
            out["referenced_message"] = self._as_seen(ref, intents)
        return out

    def _message_intent(self, message: dict[str, Any]) -> int:
        return INTENT_GUILD_MESSAGES if message.get("guild_id") else INTENT_DIRECT_MESSAGES

    def _dispatch_message(self, event: str, message: dict[str, Any]) -> None:
        if message["flags"] & FLAG_EPHEMERAL:
            return  # ephemeral messages only exist for their recipient; the bot gets no gateway event
        self._dispatch_all(
            event,
            lambda: message,
            intent=self._message_intent(message),
            transform=lambda m, intents: self._as_seen(m, intents),
        )

    # ------------------------------------------------------------------ mentions

    def _parse_mentions(
        self, message: dict[str, Any], allowed: dict[str, Any] | None, replied_author: str | None
    ) -> None:
        """Fill ``mentions``/``mention_roles``/``mention_everyone`` and ``pinged`` like Discord.

        ``allowed`` is the request's ``allowed_mentions`` (None = Discord's default of parsing everything and
        pinging the replied-to author).  ``pinged`` lists user ids, ``"role:<id>"``, ``"@everyone"`` and
        ``"@here"``.
        """
        content = message.get("content") or ""
        guild_id = message.get("guild_id")
        user_ids = [u for u in dict.fromkeys(_MENTION_USER.findall(content)) if u in self.users]
        guild_roles = {r["id"] for r in self.guilds[guild_id]["roles"]} if guild_id else set()
        role_ids = [r for r in dict.fromkeys(_MENTION_ROLE.findall(content)) if r in guild_roles]
        everyone = [tag for tag in ("@everyone", "@here") if tag in content]
        if allowed is None:
            users_ok, roles_ok, everyone_ok, reply_ok = user_ids, role_ids, bool(everyone), True
        else:
            parse = set(allowed.get("parse") or [])
            listed_users = {str(u) for u in allowed.get("users") or []}
            listed_roles = {str(r) for r in allowed.get("roles") or []}
            users_ok = [u for u in user_ids if "users" in parse or u in listed_users]
            roles_ok = [r for r in role_ids if "roles" in parse or r in listed_roles]
            everyone_ok = "everyone" in parse and bool(everyone)
            reply_ok = bool(allowed.get("replied_user", False))
        if replied_author is not None and reply_ok and replied_author not in users_ok:
            users_ok = [*users_ok, replied_author]
        if not guild_id:
            roles_ok, everyone_ok = [], False
        mentions = []
        for uid in users_ok:
            user = dict(self.users[uid])
            if guild_id and uid in self.members.get(guild_id, {}):
                user["member"] = dict(self.members[guild_id][uid])
            mentions.append(user)
        message["mentions"] = mentions
        message["mention_roles"] = roles_ok
        message["mention_everyone"] = everyone_ok
        message["pinged"] = [*users_ok, *(f"role:{r}" for r in roles_ok), *(everyone if everyone_ok else [])]

    # ------------------------------------------------------------------ building messages

    def _new_message(
        self,
        *,
        channel_id: str,
        author: dict[str, Any],
        body: dict[str, Any],
        reference: dict[str, Any] | None = None,
        msg_type: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        channel = self.channels[channel_id]
        guild_id = channel.get("guild_id")
        message: dict[str, Any] = {
            "id": self._snowflake(),
            "channel_id": channel_id,
            "author": dict(author),
            "content": body.get("content") or "",
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts", False)),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": body.get("attachments") or [],
            "embeds": [self._normalise_embed(e) for e in body.get("embeds") or []],
            "reactions": [],
            "pinned": False,
            "type": msg_type,
            "flags": int(body.get("flags") or 0),
            "components": self._normalise_components(body.get("components") or []),
        }
        if guild_id:
            message["guild_id"] = guild_id
            if author["id"] in self.members.get(guild_id, {}):
                message["member"] = dict(self.members[guild_id][author["id"]])
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if reference is not None:
            message["type"] = 19 if msg_type == 0 else msg_type
            message["message_reference"] = {
                "type": 0,
                "message_id": reference["id"],
                "channel_id": reference["channel_id"],
                **({"guild_id": reference["guild_id"]} if reference.get("guild_id") else {}),
            }
            # One level only, as Discord does: the referenced message's own reference is not expanded.
            message["referenced_message"] = {k: v for k, v in reference.items() if k != "referenced_message"}
        message.update(extra or {})
        return message

    @staticmethod
    def _normalise_embed(embed: dict[str, Any]) -> dict[str, Any]:
        out = dict(embed)
        out.setdefault("type", "rich")
        return out

    def _normalise_components(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Discord assigns numeric ids to components; discord.py reads them when present.
        counter = itertools.count(1)

        def walk(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out = []
            for item in items:
                item = dict(item)
                item.setdefault("id", next(counter))
                if isinstance(item.get("components"), list):
                    item["components"] = walk(item["components"])
                out.append(item)
            return out

        return walk(rows)

    def _store(self, message: dict[str, Any]) -> None:
        self.messages[message["id"]] = message
        channel = self.channels.get(message["channel_id"])
        if channel is not None:
            channel["last_message_id"] = message["id"]

    # ------------------------------------------------------------------ people acting

    def _require_user(self, user_id: str) -> dict[str, Any]:
        try:
            return self.users[user_id]
        except KeyError:
            raise KeyError(f"unknown user {user_id}") from None

    def _require_channel(self, channel_id: str) -> dict[str, Any]:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise KeyError(f"unknown channel {channel_id}") from None

    async def send_message(
        self,
        author_id: str,
        channel_id: str,
        content: str,
        *,
        mention_bot: bool = False,
        reply_to: str | None = None,
        webhook: bool = False,
    ) -> dict[str, Any]:
        """A person (or a webhook) posts in a channel; MESSAGE_CREATE is dispatched.

        ``mention_bot`` prefixes ``<@BOTID> ``; ``reply_to`` makes it a reply that pings the replied author;
        ``webhook`` posts as a webhook named after ``author_id``'s user (no member, ``webhook_id`` set).
        """
        user = self._require_user(author_id)
        self._require_channel(channel_id)
        if mention_bot:
            content = f"<@{self.bot_user['id']}> {content}"
        reference = self.messages[reply_to] if reply_to is not None else None
        author = user
        extra: dict[str, Any] = {}
        if webhook:
            webhook_id = self._snowflake()
            author = {**user, "id": webhook_id, "bot": True, "discriminator": "0000", "global_name": None}
            extra["webhook_id"] = webhook_id
        message = self._new_message(
            channel_id=channel_id, author=author, body={"content": content}, reference=reference, extra=extra
        )
        if webhook:
            message.pop("member", None)
        self._parse_mentions(message, None, reference["author"]["id"] if reference else None)
        self._store(message)
        self._dispatch_message("MESSAGE_CREATE", message)
        self._publish("message_create", message=message)
        await asyncio.sleep(0)
        return copy.deepcopy(message)

    async def edit_message(self, message_id: str, content: str) -> dict[str, Any]:
        """The author edits a message; MESSAGE_UPDATE is dispatched."""
        message = self.messages[message_id]
        message["content"] = content
        message["edited_timestamp"] = _now_iso()
        ref = message.get("referenced_message")
        self._parse_mentions(message, None, ref["author"]["id"] if ref else None)
        self._dispatch_message("MESSAGE_UPDATE", message)
        self._publish("message_update", message=message)
        await asyncio.sleep(0)
        return copy.deepcopy(message)

    async def delete_message(self, message_id: str) -> None:
        """A message is deleted (by its author or a moderator); MESSAGE_DELETE is dispatched."""
        self._delete(message_id)
        await asyncio.sleep(0)

    def _delete(self, message_id: str) -> None:
        message = self.messages.pop(message_id)
        self.reactions.pop(message_id, None)
        payload = {"id": message_id, "channel_id": message["channel_id"]}
        if message.get("guild_id"):
            payload["guild_id"] = message["guild_id"]
        if not message["flags"] & FLAG_EPHEMERAL:
            self._dispatch_all("MESSAGE_DELETE", lambda: payload, intent=self._message_intent(message))
        self._publish("message_delete", message_id=message_id, channel_id=message["channel_id"])

    async def add_reaction(self, user_id: str, message_id: str, emoji: str) -> None:
        """A person reacts; MESSAGE_REACTION_ADD is dispatched (``emoji`` is unicode or ``name:id``)."""
        self._require_user(user_id)
        self._react(user_id, message_id, emoji)
        await asyncio.sleep(0)

    async def remove_reaction(self, user_id: str, message_id: str, emoji: str) -> None:
        """A person takes their reaction back; MESSAGE_REACTION_REMOVE is dispatched."""
        self._require_user(user_id)
        self._unreact(message_id, [(user_id, emoji)])
        await asyncio.sleep(0)

    @staticmethod
    def _emoji_payload(emoji: str) -> dict[str, Any]:
        name, _, emoji_id = emoji.partition(":")
        return {"id": emoji_id or None, "name": name}

    def _reaction_intent(self, message: dict[str, Any]) -> int:
        return INTENT_GUILD_MESSAGE_REACTIONS if message.get("guild_id") else INTENT_DIRECT_MESSAGE_REACTIONS

    def _react(self, user_id: str, message_id: str, emoji: str) -> None:
        message = self.messages[message_id]
        entries = self.reactions.setdefault(message_id, [])
        if (user_id, emoji) in entries:
            return
        entries.append((user_id, emoji))
        self._sync_reaction_summary(message_id)
        payload: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": message["channel_id"],
            "message_id": message_id,
            "emoji": self._emoji_payload(emoji),
            "message_author_id": message["author"]["id"],
            "burst": False,
            "burst_colors": [],
            "type": 0,
        }
        guild_id = message.get("guild_id")
        if guild_id:
            payload["guild_id"] = guild_id
            if user_id in self.members.get(guild_id, {}):
                payload["member"] = self._member_with_user(guild_id, user_id)
        self._dispatch_all("MESSAGE_REACTION_ADD", lambda: payload, intent=self._reaction_intent(message))
        self._publish("reaction_add", message_id=message_id, user_id=user_id, emoji=emoji)

    def _unreact(self, message_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        message = self.messages[message_id]
        entries = self.reactions.get(message_id, [])
        for user_id, emoji in list(pairs):
            if (user_id, emoji) not in entries:
                continue
            entries.remove((user_id, emoji))
            payload: dict[str, Any] = {
                "user_id": user_id,
                "channel_id": message["channel_id"],
                "message_id": message_id,
                "emoji": self._emoji_payload(emoji),
                "burst": False,
                "type": 0,
            }
            if message.get("guild_id"):
                payload["guild_id"] = message["guild_id"]
            self._dispatch_all(
                "MESSAGE_REACTION_REMOVE", _const(payload), intent=self._reaction_intent(message)
            )
            self._publish("reaction_remove", message_id=message_id, user_id=user_id, emoji=emoji)
        self._sync_reaction_summary(message_id)

    def _sync_reaction_summary(self, message_id: str) -> None:
        """Keep the message's ``reactions`` array (as REST returns it) in step with :attr:`reactions`."""
        counts: dict[str, list[str]] = {}
        for user_id, emoji in self.reactions.get(message_id, []):
            counts.setdefault(emoji, []).append(user_id)
        self.messages[message_id]["reactions"] = [
            {
                "emoji": self._emoji_payload(emoji),
                "count": len(users),
                "count_details": {"burst": 0, "normal": len(users)},
                "me": self.bot_user["id"] in users,
                "me_burst": False,
                "burst_colors": [],
            }
            for emoji, users in counts.items()
        ]

    # ------------------------------------------------------------------ interactions (people side)

    def _interaction_base(
        self, user_id: str, channel_id: str, itype: int, data: dict[str, Any]
    ) -> dict[str, Any]:
        user = self._require_user(user_id)
        channel = self._require_channel(channel_id)
        payload: dict[str, Any] = {
            "id": self._snowflake(),
            "application_id": self.application_id,
            "type": itype,
            "token": f"itoken-{secrets.token_urlsafe(24)}",
            "version": 1,
            "data": data,
            "channel_id": channel_id,
            "channel": copy.deepcopy(channel),
            "locale": "en-US",
            "entitlements": [],
            "attachment_size_limit": _ATTACHMENT_SIZE_LIMIT,
        }
        guild_id = channel.get("guild_id")
        if guild_id:
            if user_id not in self.members.get(guild_id, {}):
                raise ValueError(f"user {user_id} is not a member of guild {guild_id}")
            member = self._member_with_user(guild_id, user_id)
            member["permissions"] = str(self._permissions(guild_id, user_id))
            payload.update(
                guild_id=guild_id,
                guild={"id": guild_id, "locale": "en-US", "features": []},
                guild_locale="en-US",
                member=member,
                app_permissions=str(self._permissions(guild_id, self.bot_user["id"])),
                authorizing_integration_owners={"0": guild_id},
                context=0,
            )
        else:
            payload.update(
                user=dict(user),
                app_permissions=str(EVERYONE_PERMS),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        return payload

    def _command_data(self, name: str, ctype: int, guild_id: str | None) -> dict[str, Any]:
        """``data`` head for an application command, using the synced definition's id when there is one."""
        scopes: list[str | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self.synced_commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    data: dict[str, Any] = {"id": cmd["id"], "name": name, "type": ctype}
                    if scope is not None:
                        # discord.py looks guild commands up under data.guild_id.
                        data["guild_id"] = scope
                    return data
        return {"id": self._snowflake(), "name": name, "type": ctype}

    def _resolve_options(self, options: list[dict[str, Any]], guild_id: str | None) -> dict[str, Any]:
        """Discord's ``resolved`` block for user/channel/role/mentionable options."""
        resolved: dict[str, dict[str, Any]] = {}

        def walk(opts: list[dict[str, Any]]) -> None:
            for opt in opts:
                otype, value = opt.get("type"), str(opt.get("value", ""))
                if otype in (1, 2):
                    walk(opt.get("options") or [])
                elif otype in (6, 9) and value in self.users:
                    resolved.setdefault("users", {})[value] = dict(self.users[value])
                    if guild_id and value in self.members.get(guild_id, {}):
                        member = dict(self.members[guild_id][value])
                        member["permissions"] = str(self._permissions(guild_id, value))
                        resolved.setdefault("members", {})[value] = member
                elif otype == 7 and value in self.channels:
                    channel = self.channels[value]
                    resolved.setdefault("channels", {})[value] = {
                        "id": value,
                        "type": channel["type"],
                        "name": channel.get("name"),
                        "permissions": str(EVERYONE_PERMS),
                        "parent_id": None,
                    }
                elif otype in (8, 9) and guild_id:
                    for role in self.guilds[guild_id]["roles"]:
                        if role["id"] == value:
                            resolved.setdefault("roles", {})[value] = dict(role)

        walk(options)
        return resolved

    async def _start_interaction(self, payload: dict[str, Any]) -> Interaction:
        interaction = Interaction(self, payload)
        self.interactions[interaction.id] = interaction
        self._dispatch_all("INTERACTION_CREATE", lambda: payload)
        self._publish("interaction_create", interaction=payload)
        await asyncio.sleep(0)
        return interaction

    async def slash_command(
        self, user_id: str, channel_id: str, name: str, options: list[dict[str, Any]] | None = None
    ) -> Interaction:
        """A person runs ``/name`` with wire-format ``options``; INTERACTION_CREATE (type 2) is dispatched."""
        guild_id = self._require_channel(channel_id).get("guild_id")
        data = self._command_data(name, 1, guild_id)
        if options:
            data["options"] = copy.deepcopy(options)
            resolved = self._resolve_options(options, guild_id)
            if resolved:
                data["resolved"] = resolved
        return await self._start_interaction(self._interaction_base(user_id, channel_id, ITYPE_COMMAND, data))

    async def autocomplete(
        self, user_id: str, channel_id: str, name: str, options: list[dict[str, Any]], timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """A person types into an option; returns the choices of the bot's type-8 callback.

        The option with ``"focused": true`` is the one being typed; if none is marked, the last (innermost)
        option is focused.
        """
        guild_id = self._require_channel(channel_id).get("guild_id")
        opts = copy.deepcopy(options)

        def leaves(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            for item in items:
                if item.get("type") in (1, 2):
                    return leaves(item.get("options") or [])
            return items

        leaf_opts = leaves(opts)
        if leaf_opts and not any(o.get("focused") for o in leaf_opts):
            leaf_opts[-1]["focused"] = True
        data = self._command_data(name, 1, guild_id)
        data["options"] = opts
        interaction = await self._start_interaction(
            self._interaction_base(user_id, channel_id, ITYPE_AUTOCOMPLETE, data)
        )
        body = await interaction.response(timeout)
        if body.get("type") != CB_AUTOCOMPLETE:
            raise AssertionError(f"expected an autocomplete (type 8) callback, got {body!r}")
        return list((body.get("data") or {}).get("choices") or [])

    async def message_command(
        self, user_id: str, channel_id: str, name: str, target_message_id: str
    ) -> Interaction:
        """A person uses a message context-menu command on ``target_message_id``.

        The resolved target keeps its content even without the MESSAGE_CONTENT intent, as on Discord.
        """
        guild_id = self._require_channel(channel_id).get("guild_id")
        target = self.messages[target_message_id]
        data = self._command_data(name, 3, guild_id)
        data["target_id"] = target_message_id
        data["resolved"] = {"messages": {target_message_id: self._as_seen(target, None)}}
        return await self._start_interaction(self._interaction_base(user_id, channel_id, ITYPE_COMMAND, data))

    def _find_component(self, message: dict[str, Any], custom_id: str) -> dict[str, Any] | None:
        def walk(items: list[dict[str, Any]]) -> dict[str, Any] | None:
            for item in items:
                if item.get("custom_id") == custom_id:
                    return item
                found = walk(item.get("components") or [])
                if found is not None:
                    return found
                accessory = item.get("accessory")
                if isinstance(accessory, dict) and accessory.get("custom_id") == custom_id:
                    return accessory
            return None

        return walk(message.get("components") or [])

    async def _component(
        self, user_id: str, message_id: str, custom_id: str, ctype: int, values: list[str] | None
    ) -> Interaction:
        message = self.messages[message_id]
        component = self._find_component(message, custom_id)
        if component is None:
            raise ValueError(f"message {message_id} has no component with custom_id {custom_id!r}")
        if component.get("type") != ctype and not (ctype == 3 and component.get("type") in (3, 5, 6, 7, 8)):
            raise ValueError(f"component {custom_id!r} has type {component.get('type')}, not {ctype}")
        if component.get("disabled"):
            raise ValueError(f"component {custom_id!r} is disabled")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = list(values)
        payload = self._interaction_base(user_id, message["channel_id"], ITYPE_COMPONENT, data)
        payload["message"] = self._as_seen(message, None)
        return await self._start_interaction(payload)

    async def click_button(self, user_id: str, message_id: str, custom_id: str) -> Interaction:
        """A person clicks a button (component type 2) on a message."""
        return await self._component(user_id, message_id, custom_id, 2, None)

    async def choose(self, user_id: str, message_id: str, custom_id: str, values: list[str]) -> Interaction:
        """A person picks ``values`` in a select menu (component type 3) on a message."""
        return await self._component(user_id, message_id, custom_id, 3, values)

    # ------------------------------------------------------------------ HTTP plumbing

    def _add_routes(self) -> None:
        r = self.app.router
        p = API_PREFIX
        r.add_get("/gateway", self._gateway)
        r.add_get(f"{p}/users/@me", self._get_me)
        r.add_get(f"{p}/oauth2/applications/@me", self._get_appinfo)
        r.add_get(f"{p}/applications/@me", self._get_appinfo)
        r.add_get(f"{p}/gateway", self._get_gateway)
        r.add_get(f"{p}/gateway/bot", self._get_gateway_bot)
        r.add_post(f"{p}/users/@me/channels", self._create_dm)
        r.add_get(f"{p}/users/{{user_id}}", self._get_user)
        r.add_get(f"{p}/channels/{{channel_id}}", self._get_channel)
        r.add_post(f"{p}/channels/{{channel_id}}/typing", self._typing)
        r.add_post(f"{p}/channels/{{channel_id}}/messages", self._create_message)
        r.add_get(f"{p}/channels/{{channel_id}}/messages", self._list_messages)
        r.add_get(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self._get_message)
        r.add_patch(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self._edit_message)
        r.add_delete(f"{p}/channels/{{channel_id}}/messages/{{message_id}}", self._delete_message)
        reactions = f"{p}/channels/{{channel_id}}/messages/{{message_id}}/reactions"
        r.add_put(f"{reactions}/{{emoji}}/@me", self._put_reaction)
        r.add_delete(f"{reactions}/{{emoji}}/@me", self._delete_own_reaction)
        r.add_get(f"{reactions}/{{emoji}}", self._get_reactions)
        r.add_delete(f"{reactions}/{{emoji}}/{{user_id}}", self._delete_user_reaction)
        r.add_delete(f"{reactions}/{{emoji}}", self._clear_emoji_reactions)
        r.add_delete(reactions, self._clear_reactions)
        r.add_get(f"{p}/guilds/{{guild_id}}", self._get_guild)
        r.add_get(f"{p}/guilds/{{guild_id}}/channels", self._get_guild_channels)
        r.add_get(f"{p}/guilds/{{guild_id}}/roles", self._get_guild_roles)
        r.add_get(f"{p}/guilds/{{guild_id}}/members/{{user_id}}", self._get_member)
        r.add_post(f"{p}/interactions/{{interaction_id}}/{{token}}/callback", self._interaction_callback)
        hooks = f"{p}/webhooks/{{app_id}}/{{token}}"
        r.add_post(hooks, self._webhook_execute)
        r.add_get(f"{hooks}/messages/{{message_id}}", self._webhook_get)
        r.add_patch(f"{hooks}/messages/{{message_id}}", self._webhook_edit)
        r.add_delete(f"{hooks}/messages/{{message_id}}", self._webhook_delete)
        cmds = f"{p}/applications/{{app_id}}"
        r.add_put(f"{cmds}/commands", self._put_commands)
        r.add_get(f"{cmds}/commands", self._get_commands)
        r.add_post(f"{cmds}/commands", self._post_command)
        r.add_delete(f"{cmds}/commands/{{command_id}}", self._delete_command)
        r.add_put(f"{cmds}/guilds/{{guild_id}}/commands", self._put_commands)
        r.add_get(f"{cmds}/guilds/{{guild_id}}/commands", self._get_commands)
        r.add_post(f"{cmds}/guilds/{{guild_id}}/commands", self._post_command)
        r.add_delete(f"{cmds}/guilds/{{guild_id}}/commands/{{command_id}}", self._delete_command)
        # Registered last: anything else under the API prefix is Discord's JSON 404.
        r.add_route("*", f"{p}/{{tail:.*}}", self._not_found)

    @web.middleware
    async def _api_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Record, authenticate and fault-inject every REST call under /api/v10."""
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        body = await self._read_body(request)
        call = RestCall(request.method, path, dict(request.query), body)
        self.rest_log.append(call)
        self._bodies[id(request)] = body
        response: web.StreamResponse | None = self._fault_for(request.method, path)
        if response is None and not self._authorised(request, path):
            response = _error(401, "401: Unauthorized")
        if response is None:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # aiohttp's own 404/405 before our catch-all ran
                response = _error(exc.status, f"{exc.status}: {exc.reason}")
            finally:
                self._bodies.pop(id(request), None)
        else:
            self._bodies.pop(id(request), None)
        call.status = response.status
        return response

    def _authorised(self, request: web.Request, path: str) -> bool:
        # Interaction callbacks and webhook calls are authorised by the token in the URL, not a header.
        if path.startswith(("/interactions/", "/webhooks/")):
            return True
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _fault_for(self, method: str, path: str) -> web.Response | None:
        for fault in self._faults:
            if fault.remaining <= 0 or fault.method not in ("*", method) or not fault.pattern.search(path):
                continue
            fault.remaining -= 1
            if fault.status == 429:
                headers = {
                    "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
                    "X-RateLimit-Limit": "5",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                    "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                    "X-RateLimit-Bucket": "loopback-bucket",
                    "X-RateLimit-Scope": "user",
                    # discord.py treats a 429 without Via as a Cloudflare ban and raises instead of retrying.
                    "Via": "1.1 google",
                }
                body = {
                    "message": "You are being rate limited.",
                    "retry_after": fault.retry_after,
                    "global": False,
                }
                return _json_response(body, status=429, headers=headers)
            reasons = {500: "500: Internal Server Error", 502: "502: Bad Gateway", 403: "Missing Permissions"}
            code = 50013 if fault.status == 403 else 0
            return _error(fault.status, reasons.get(fault.status, f"{fault.status}: loopback fault"), code)
        self._faults = [f for f in self._faults if f.remaining > 0]
        return None

    @staticmethod
    async def _read_body(request: web.Request) -> Any:
        """JSON body, or for multipart the ``payload_json`` part plus ``attachments`` built from files."""
        if not request.can_read_body:
            return None
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            payload: dict[str, Any] = {}
            files: list[dict[str, Any]] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, aiohttp.BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    data = await part.read()
                    files.append({"filename": part.filename or part.name or "file", "size": len(data)})
            if files:
                attachments = []
                for i, f in enumerate(files):
                    meta = (
                        (payload.get("attachments") or [{}] * len(files))[i]
                        if payload.get("attachments")
                        else {}
                    )
                    attachments.append(
                        {
                            "id": str(10_000 + i),
                            "filename": f["filename"],
                            "size": f["size"],
                            "url": f"http://loopback.invalid/attachments/{f['filename']}",
                            "proxy_url": f"http://loopback.invalid/attachments/{f['filename']}",
                            "description": meta.get("description"),
                        }
                    )
                payload["attachments"] = attachments
            return payload
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    async def _not_found(self, request: web.Request) -> web.Response:
        return _error(404, "404: Not Found")

    # ------------------------------------------------------------------ REST handlers: identity

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json_response({**self.bot_user, "verified": True, "mfa_enabled": False, "email": None})

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user_id"])
        return _json_response(user) if user else _error(404, "Unknown User", 10013)

    async def _get_appinfo(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "id": self.application_id,
                "name": self.bot_user["username"],
                "description": "loopback application",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner_user,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "bot": self.bot_user,
                "interactions_endpoint_url": None,
                "integration_types_config": {"0": {}, "1": {}},
            }
        )

    async def _get_gateway(self, request: web.Request) -> web.Response:
        return _json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return _json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    # ------------------------------------------------------------------ REST handlers: channels, guilds

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = self._bodies.get(id(request)) or {}
        recipient = str(body.get("recipient_id"))
        if recipient not in self.users:
            return _error(400, "Invalid Recipient(s)", 50033)
        return _json_response(self.dm_channel(recipient))

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["channel_id"])
        return _json_response(channel) if channel else _error(404, "Unknown Channel", 10003)

    async def _typing(self, request: web.Request) -> web.Response:
        if request.match_info["channel_id"] not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        self._publish("typing", channel_id=request.match_info["channel_id"])
        return _no_content()

    async def _get_guild(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid not in self.guilds:
            return _error(404, "Unknown Guild", 10004)
        return _json_response(self._guild_payload(gid, full=False))

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid not in self.guilds:
            return _error(404, "Unknown Guild", 10004)
        return _json_response([c for c in self.channels.values() if c.get("guild_id") == gid])

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid not in self.guilds:
            return _error(404, "Unknown Guild", 10004)
        return _json_response(self.guilds[gid]["roles"])

    async def _get_member(self, request: web.Request) -> web.Response:
        gid, uid = request.match_info["guild_id"], request.match_info["user_id"]
        if gid not in self.guilds:
            return _error(404, "Unknown Guild", 10004)
        if uid not in self.members.get(gid, {}):
            return _error(404, "Unknown Member", 10007)
        return _json_response(self._member_with_user(gid, uid))

    # ------------------------------------------------------------------ REST handlers: messages

    def _validate_outgoing(
        self, body: dict[str, Any], *, creating: bool, prefix: list[str] | None = None
    ) -> web.Response | None:
        """A 400 response for an invalid bot message body, else None."""
        errors = validate_message(body, prefix=prefix)
        if errors:
            return _error(400, **invalid_form_body(errors))
        if creating and not any(
            body.get(k) for k in ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
        ):
            return _error(400, "Cannot send an empty message", 50006)
        return None

    def _bot_message(
        self,
        channel_id: str,
        body: dict[str, Any],
        *,
        reference: dict[str, Any] | None,
        msg_type: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build, mention-parse and store a message authored by the bot (not yet dispatched)."""
        message = self._new_message(
            channel_id=channel_id,
            author=self.bot_user,
            body=body,
            reference=reference,
            msg_type=msg_type,
            extra=extra,
        )
        allowed = body.get("allowed_mentions")
        if allowed is not None:
            message["allowed_mentions"] = copy.deepcopy(allowed)
        self._parse_mentions(message, allowed, reference["author"]["id"] if reference else None)
        self._store(message)
        return message

    def _resolve_reference(
        self, channel_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, web.Response | None]:
        """(referenced message, error response) for a body's ``message_reference``."""
        ref = body.get("message_reference")
        if not ref:
            return None, None
        target = self.messages.get(str(ref.get("message_id")))
        if target is None or target["channel_id"] != str(ref.get("channel_id") or channel_id):
            if ref.get("fail_if_not_exists", True) is False:
                return None, None
            errors = {
                "message_reference": {
                    "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                }
            }
            return None, _error(400, **invalid_form_body(errors))
        return target, None

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        body = self._bodies.get(id(request)) or {}
        invalid = self._validate_outgoing(body, creating=True)
        if invalid is not None:
            return invalid
        reference, invalid = self._resolve_reference(channel_id, body)
        if invalid is not None:
            return invalid
        message = self._bot_message(channel_id, body, reference=reference)
        self._dispatch_message("MESSAGE_CREATE", message)
        self._publish("message_create", message=message)
        return _json_response(self._as_seen(message, None))

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self.channels:
            return _error(404, "Unknown Channel", 10003)
        q = request.query
        limit = max(1, min(100, int(q.get("limit", "50"))))
        found = [m for m in self.channel_messages(channel_id) if not m["flags"] & FLAG_EPHEMERAL]
        if "before" in q:
            found = [m for m in found if int(m["id"]) < int(q["before"])]
        if "after" in q:
            found = [m for m in found if int(m["id"]) > int(q["after"])]
            found = found[:limit]
        found = list(reversed(found))[:limit]  # newest first, as Discord returns them
        return _json_response([self._as_seen(m, self._rest_intents) for m in found])

    def _channel_message(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self.channels:
            return None, _error(404, "Unknown Channel", 10003)
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message["channel_id"] != channel_id:
            return None, _error(404, "Unknown Message", 10008)
        return message, None

    async def _get_message(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        return _json_response(self._as_seen(message, self._rest_intents))

    def _apply_edit(self, message: dict[str, Any], body: dict[str, Any]) -> None:
        if "content" in body:
            message["content"] = body["content"] or ""  # null clears the content
        if body.get("flags") is not None:
            # Ephemerality is fixed at creation; an edit cannot add or remove it.
            message["flags"] = (message["flags"] & FLAG_EPHEMERAL) | (int(body["flags"]) & ~FLAG_EPHEMERAL)
        if "embeds" in body:
            message["embeds"] = [self._normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = self._normalise_components(body["components"] or [])
        if "attachments" in body:
            message["attachments"] = body["attachments"] or []
        if body.get("allowed_mentions") is not None:
            message["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        message["flags"] &= ~FLAG_LOADING
        message["edited_timestamp"] = _now_iso()
        ref = message.get("referenced_message")
        self._parse_mentions(message, message.get("allowed_mentions"), ref["author"]["id"] if ref else None)

    async def _edit_message(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        if message["author"]["id"] != self.bot_user["id"]:
            return _error(403, "Cannot edit a message authored by another user", 50005)
        return self._edit_from_request(message, request)

    def _edit_from_request(self, message: dict[str, Any], request: web.Request) -> web.Response:
        """Apply a REST edit (channel message or webhook message) after Discord's validation."""
        body = self._bodies.get(id(request)) or {}
        invalid = self._validate_outgoing({**message, **body}, creating=False)
        if invalid is not None:
            return invalid
        self._apply_edit(message, body)
        self._dispatch_message("MESSAGE_UPDATE", message)
        self._publish("message_update", message=message)
        return _json_response(self._as_seen(message, None))

    async def _delete_message(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        self._delete(message["id"])
        return _no_content()

    # ------------------------------------------------------------------ REST handlers: reactions

    async def _put_reaction(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        self._react(self.bot_user["id"], message["id"], request.match_info["emoji"])
        return _no_content()

    async def _delete_own_reaction(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        self._unreact(message["id"], [(self.bot_user["id"], request.match_info["emoji"])])
        return _no_content()

    async def _delete_user_reaction(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        self._unreact(message["id"], [(request.match_info["user_id"], request.match_info["emoji"])])
        return _no_content()

    async def _clear_emoji_reactions(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        emoji = request.match_info["emoji"]
        self._unreact(message["id"], [p for p in self.reactions.get(message["id"], []) if p[1] == emoji])
        return _no_content()

    async def _clear_reactions(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        self._unreact(message["id"], list(self.reactions.get(message["id"], [])))
        return _no_content()

    async def _get_reactions(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        emoji = request.match_info["emoji"]
        users = [self.users[u] for u, e in self.reactions.get(message["id"], []) if e == emoji]
        return _json_response(users)

    # ------------------------------------------------------------------ REST handlers: interactions

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(request.match_info["interaction_id"])
        if interaction is None or interaction.token != request.match_info["token"]:
            return _error(404, "Unknown interaction", 10062)
        if interaction.callbacks:
            return _error(400, "Interaction has already been acknowledged.", 40060)
        body = self._bodies.get(id(request)) or {}
        ctype = int(body.get("type", 0))
        data = body.get("data") or {}
        payload = interaction.payload
        itype = payload["type"]
        allowed = {
            ITYPE_COMMAND: {CB_MESSAGE, CB_DEFER, CB_MODAL},
            ITYPE_COMPONENT: {CB_MESSAGE, CB_DEFER, CB_DEFER_UPDATE, CB_UPDATE, CB_MODAL},
            ITYPE_AUTOCOMPLETE: {CB_AUTOCOMPLETE},
        }.get(itype, set())
        if ctype not in allowed:
            return _error(
                400, f"Interaction callback type {ctype} is not valid for interaction type {itype}", 50035
            )

        if ctype == CB_AUTOCOMPLETE:
            errors = validate_choices(list(data.get("choices") or []))
            if errors:
                return _error(400, **invalid_form_body(errors))
        if ctype in (CB_MESSAGE, CB_UPDATE):
            invalid = self._validate_outgoing(data, creating=ctype == CB_MESSAGE, prefix=["data"])
            if invalid is not None:
                return invalid

        message: dict[str, Any] | None = None
        result: dict[str, Any] = {"id": interaction.id, "type": itype}
        channel_id = payload["channel_id"]
        metadata = {
            "id": interaction.id,
            "type": itype,
            "user": (payload.get("member") or {}).get("user") or payload.get("user"),
            "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
        }
        if payload.get("data", {}).get("name"):
            metadata["name"] = payload["data"]["name"]
        is_command = itype == ITYPE_COMMAND
        msg_type = (23 if payload["data"].get("type", 1) != 1 else 20) if is_command else 0
        extra = {
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "interaction_metadata": metadata,
        }
        if ctype in (CB_MESSAGE, CB_DEFER):
            flags = int(data.get("flags") or 0)
            if ctype == CB_DEFER:
                # A deferred response is a "thinking" placeholder until the bot edits or follows up.
                data = {"flags": (flags & FLAG_EPHEMERAL) | FLAG_LOADING}
            message = self._bot_message(channel_id, data, reference=None, msg_type=msg_type, extra=extra)
            interaction.original_id = message["id"]
            result.update(
                response_message_id=message["id"],
                response_message_loading=ctype == CB_DEFER,
                response_message_ephemeral=bool(message["flags"] & FLAG_EPHEMERAL),
            )
            self._dispatch_message("MESSAGE_CREATE", message)
            self._publish("message_create", message=message)
        elif ctype in (CB_UPDATE, CB_DEFER_UPDATE) and payload.get("message"):
            target = self.messages.get(payload["message"]["id"])
            if target is not None:
                if ctype == CB_UPDATE:
                    self._apply_edit(target, data)
                    self._dispatch_message("MESSAGE_UPDATE", target)
                    self._publish("message_update", message=target)
                message = target
                result.update(
                    response_message_id=target["id"],
                    response_message_loading=False,
                    response_message_ephemeral=bool(target["flags"] & FLAG_EPHEMERAL),
                )

        interaction.callbacks.append(copy.deepcopy(body))
        if not interaction._responded.done():
            interaction._responded.set_result(copy.deepcopy(body))
        self._publish("interaction_response", interaction_id=interaction.id, response=body)
        resource: dict[str, Any] = {"type": ctype}
        if message is not None and ctype in (CB_MESSAGE, CB_DEFER, CB_UPDATE):
            resource["message"] = self._as_seen(message, None)
        return _json_response({"interaction": result, "resource": resource})

    def _interaction_by_token(self, request: web.Request) -> Interaction | None:
        if request.match_info["app_id"] != self.application_id:
            return None
        token = request.match_info["token"]
        return next((i for i in self.interactions.values() if i.token == token), None)

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request)
        if interaction is None:
            return _error(404, "Unknown Webhook", 10015)
        if not interaction.callbacks:
            # Discord refuses followups before the interaction has been acknowledged.
            return _error(404, "Unknown Webhook", 10015)
        body = self._bodies.get(id(request)) or {}
        invalid = self._validate_outgoing(body, creating=True)
        if invalid is not None:
            return invalid
        original = interaction.original
        if original is not None and original["flags"] & FLAG_LOADING:
            # After a defer, the first followup replaces the "thinking" message (Discord behaviour); it keeps
            # the ephemerality chosen at defer time.
            edit = {k: v for k, v in body.items() if k != "flags"}
            self._apply_edit(original, edit)
            original["edited_timestamp"] = None
            message = original
            self._dispatch_message("MESSAGE_UPDATE", message)
            self._publish("message_update", message=message)
        else:
            payload = interaction.payload
            extra = {
                "webhook_id": self.application_id,
                "application_id": self.application_id,
                "interaction_metadata": {"id": interaction.id, "type": payload["type"]},
            }
            message = self._bot_message(payload["channel_id"], body, reference=None, extra=extra)
            self._followups.setdefault(interaction.token, []).append(message["id"])
            self._dispatch_message("MESSAGE_CREATE", message)
            self._publish("message_create", message=message)
        if request.query.get("wait") in ("1", "true", "True"):
            return _json_response(self._as_seen(message, None))
        return _no_content()

    def _webhook_message(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        interaction = self._interaction_by_token(request)
        if interaction is None:
            return None, _error(404, "Unknown Webhook", 10015)
        mid = request.match_info["message_id"]
        if mid == "@original":
            message = interaction.original
        elif mid in self._followups.get(interaction.token, []) or mid == interaction.original_id:
            message = self.messages.get(mid)
        else:
            message = None
        if message is None:
            return None, _error(404, "Unknown Message", 10008)
        return message, None

    async def _webhook_get(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        return _json_response(self._as_seen(message, None))

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        return self._edit_from_request(message, request)

    async def _webhook_delete(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if message is None:
            return error or _error(404, "Unknown Message", 10008)
        self._delete(message["id"])
        return _no_content()

    # ------------------------------------------------------------------ REST handlers: commands

    def _scope(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        if request.match_info["app_id"] != self.application_id:
            return None, _error(403, "Missing Access", 50001)
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None and guild_id not in self.guilds:
            return None, _error(404, "Unknown Guild", 10004)
        return guild_id, None

    def _command_record(
        self, guild_id: str | None, body: dict[str, Any], existing: list[dict[str, Any]]
    ) -> dict[str, Any]:
        ctype = int(body.get("type", 1))
        old = next(
            (c for c in existing if c["name"] == body.get("name") and int(c.get("type", 1)) == ctype), None
        )
        record = {
            "description": "",
            "options": [],
            "default_member_permissions": None,
            "dm_permission": True,
            "nsfw": False,
            **copy.deepcopy(body),
            "id": old["id"] if old else self._snowflake(),
            "application_id": self.application_id,
            "version": self._snowflake(),
            "type": ctype,
        }
        if guild_id is not None:
            record["guild_id"] = guild_id
        return record

    async def _put_commands(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        body = self._bodies.get(id(request)) or []
        if not isinstance(body, list):
            return _error(400, "Invalid Form Body", 50035)
        existing = self.synced_commands.get(guild_id, [])
        records = [self._command_record(guild_id, c, existing) for c in body]
        self.synced_commands[guild_id] = records
        self._publish("commands_synced", guild_id=guild_id, commands=records)
        return _json_response(records)

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        return _json_response(self.synced_commands.get(guild_id, []))

    async def _post_command(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        existing = self.synced_commands.setdefault(guild_id, [])
        record = self._command_record(guild_id, self._bodies.get(id(request)) or {}, existing)
        existing[:] = [c for c in existing if c["id"] != record["id"]] + [record]
        self._publish("commands_synced", guild_id=guild_id, commands=existing)
        return _json_response(record, status=201)

    async def _delete_command(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        existing = self.synced_commands.get(guild_id, [])
        command_id = request.match_info["command_id"]
        if not any(c["id"] == command_id for c in existing):
            return _error(404, "Unknown application command", 10063)
        self.synced_commands[guild_id] = [c for c in existing if c["id"] != command_id]
        return _no_content()


async def _serve_demo(port: int) -> None:
    """Run a server with a small demo world until interrupted, printing the env vars for the bot."""
    server = LoopbackDiscord(port=port)
    await server.start()
    guild = server.create_guild("Loopback Guild")
    channel = server.create_channel(guild["id"], "general")
    user = server.create_user("alice", guild_id=guild["id"])
    print(f"NETEXPLAIN_API_BASE={server.api_base}")
    print(f"NETEXPLAIN_GATEWAY_URL={server.gateway_url}")
    print(f"token={server.token} guild={guild['id']} channel={channel['id']} user={user['id']}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main(argv: list[str] | None = None) -> None:
    """``python -m bot.playground.discord_server [PORT]``: serve a demo world for manual runs of the bot."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_demo(int(args[0]) if args else 0))


if __name__ == "__main__":
    main()
