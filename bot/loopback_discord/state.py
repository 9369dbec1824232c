"""The loopback Discord's world state: what exists, what was observed, and how it is looked up.

Owns every piece of mutable state of :class:`~bot.loopback_discord.LoopbackDiscord`: the world (users,
guilds, channels, members, messages, reactions, synced commands, interactions), what the tests observe
(the REST log, IDENTIFY payloads, connection and resume counts, the subscriber feed) and the plumbing
state the gateway, REST and fault modules work on.  Also the read side every other module uses:
snowflakes, user/member/role objects, permissions, guild payloads, the server's URLs, :meth:`subscribe`
and :meth:`wait_for`.

Behaviour lives in mixins built on this class, one concern each (see the package docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.loopback_discord.protocol import API_PREFIX, DISCORD_EPOCH_MS, INTENT_GUILD_MEMBERS
from bot.loopback_discord.wire import RestCall, now_iso

if TYPE_CHECKING:
    from bot.loopback_discord.faults import Fault
    from bot.loopback_discord.gateway import Session
    from bot.loopback_discord.interactions import Interaction


class WorldState:
    """The state of one loopback Discord and the lookups over it (no I/O, no dispatch)."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        privileged_intents_allowed: bool = True,
        bot_name: str = "netexplain",
        shard_count: int = 1,
        max_concurrency: int = 1,
        enforce_identify_rate: bool = False,
        session_start_limit: int = 1000,
        guilds_per_shard: int = 2500,
    ) -> None:
        self.host = host
        self.shard_count = shard_count  # what /gateway/bot recommends
        # Discord's session start rules (gateway.py enforces them): identifies per 5 seconds per bucket
        # (only when `enforce_identify_rate`, as most tests restart bots faster than that), the daily
        # budget of session starts, and the most guilds one shard may hold before 4011.
        self.max_concurrency = max_concurrency
        self.enforce_identify_rate = enforce_identify_rate
        self.session_starts_total = session_start_limit
        self.session_starts_remaining = session_start_limit
        self.guilds_per_shard = guilds_per_shard
        self.identify_log: list[tuple[float, int, int]] = []  # accepted IDENTIFYs: (monotonic, shard, count)
        self.identifies_too_fast = 0  # IDENTIFYs answered with INVALID_SESSION for breaking the 5 s rule
        self.port = port
        # A fresh secret per server: a web page in the same browser cannot guess it to IDENTIFY and read
        # every message, or to call REST as the bot (issue 16).
        self.token = token if token is not None else secrets.token_urlsafe(32)
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
        self._faults: list[Fault] = []
        self._bodies: dict[int, Any] = {}  # parsed request bodies, keyed by id(request) while handled
        self._sessions: dict[str, Session] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        # Kept so drop_gateway(abrupt=True) can cut the TCP connection without a close frame.
        self._transports: dict[web.WebSocketResponse, asyncio.Transport] = {}
        self._subscribers: list[asyncio.Queue[dict[str, Any]]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        # Intents of the latest IDENTIFY: REST reads are blanked with them, as Discord does.
        self._rest_intents: int | None = None

    @property
    def api_base(self) -> str:
        """REST base URL for ``discord.http.Route.BASE``."""
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Websocket URL for ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://{self.host}:{self.port}/gateway"

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
            "joined_at": now_iso(),
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
                    "joined_at": members.get(self.bot_user["id"], {}).get("joined_at", now_iso()),
                }
            )
        return guild

    def _bot_in_guild(self, guild_id: str) -> bool:
        return self.bot_user["id"] in self.members.get(guild_id, {})

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
