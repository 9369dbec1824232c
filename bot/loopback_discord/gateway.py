"""The loopback Discord's gateway: sessions, heartbeats, IDENTIFY, RESUME, dispatch and sharding.

One :class:`Session` per IDENTIFY outlives its websocket, so a RESUME replays every event after the
client's last sequence number.  Events get their sequence numbers when they happen (synchronously), and a
writer task per socket sends them in order.  Discord's close codes are reproduced where a bot must react:
4004 bad token, 4014 disallowed intents, 4010 invalid shard, 4011 sharding required (a shard over
``guilds_per_shard`` guilds), 4005 identified twice, 4002 undecodable payload.  Session starts follow
Discord's rules: each accepted IDENTIFY spends one of the day's ``session_start_limit`` (the one past it
resets the token and is refused with 4004, as Discord resets a token that runs out), and with
``enforce_identify_rate`` a second IDENTIFY of one ``max_concurrency`` bucket (``shard_id %
max_concurrency``) within 5 seconds is answered INVALID_SESSION.  With ``[shard_id, shard_count]`` in
IDENTIFY a session only receives its shard's guilds (and DMs on shard 0), as Discord routes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from bot.loopback_discord.messages import Messages
from bot.loopback_discord.protocol import (
    FLAG_EPHEMERAL,
    OP_DISPATCH,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE,
    OP_REQUEST_MEMBERS,
    OP_RESUME,
    PRIVILEGED_INTENTS,
)

_GATEWAY_HEARTBEAT_MS = 41250
IDENTIFY_INTERVAL = 5.0  # seconds: one IDENTIFY per max_concurrency bucket in this time


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
class Session:
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


class Gateway(Messages):
    """The websocket endpoint and the dispatch of events to every session that should get them."""

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

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

    def _queue(self, session: Session, event: str, data: Any) -> None:
        session.events.append({"op": OP_DISPATCH, "t": event, "s": session.seq + 1, "d": data})
        session.wake.set()

    async def _writer(self, session: Session, ws: web.WebSocketResponse) -> None:
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
        session: Session | None = None
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

    async def _identify(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
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
        on_shard = sum(
            1 for gid in self.guilds if self._bot_in_guild(gid) and (int(gid) >> 22) % shard_count == shard_id
        )
        if on_shard > self.guilds_per_shard:
            await ws.close(code=4011, message=b"Sharding required.")
            return None
        now = time.monotonic()
        bucket = shard_id % self.max_concurrency
        if self.enforce_identify_rate and any(
            sid % self.max_concurrency == bucket and now - at < IDENTIFY_INTERVAL
            for at, sid, _ in self.identify_log
        ):
            self.identifies_too_fast += 1
            await ws.send_str(json.dumps({"op": OP_INVALID_SESSION, "d": False}))
            return None
        if self.session_starts_remaining <= 0:
            self.token = secrets.token_urlsafe(24)  # what Discord does to a token that ran out of starts
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        self.session_starts_remaining -= 1
        self.identify_log.append((now, shard_id, shard_count))
        session = Session(id=secrets.token_hex(16), intents=intents, ws=ws, shard=(shard_id, shard_count))
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

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> Session | None:
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

    def _members_chunk(self, session: Session, data: dict[str, Any]) -> None:
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

    def _dispatch_message(self, event: str, message: dict[str, Any]) -> None:
        if message["flags"] & FLAG_EPHEMERAL:
            return  # ephemeral messages only exist for their recipient; the bot gets no gateway event
        self._dispatch_all(
            event,
            lambda: message,
            intent=self._message_intent(message),
            transform=lambda m, intents: self._as_seen(m, intents),
        )
