"""The playground: the loopback Discord, the real bot connected to it, and a Discord-like page.

`python -m bot.playground` (and `make run` without a token) starts three things:

1. :class:`~bot.loopback_discord.LoopbackDiscord` on 127.0.0.1 with a small world: a server with
   #general and a watched #help, you (a member who may manage the server), another member, and a DM;
2. the real bot, `python -m bot.cli run` in a child process, pointed at it through its environment
   (after `python -m bot.cli sync`, as an operator would), exactly as it runs against Discord;
3. a page (plain HTML, CSS and JavaScript from ``static/``) served by an aiohttp app, which acts as you:
   it posts, edits and deletes messages, runs slash commands with autocomplete and the message context
   menu, reacts, presses buttons, and shows what the bot does live over a websocket.

The page also previews the knowledge base: the reply for any entry or text, and a reload that picks up
edited YAML (the bot is restarted on the new knowledge; a broken file is shown as file, entry, reason).

The page's API acts as you without a password, so it binds 127.0.0.1 unless told otherwise, refuses
requests whose Host or Origin is not the playground's own (DNS rebinding, cross-site posts), and takes
JSON bodies only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import sys
import tempfile
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from bot.kb import Knowledge, KnowledgeError, knowledge_dir, load_knowledge
from bot.kb.loader import fingerprint
from bot.local_origin import LOOPBACK_HOSTS, allowed_hosts, foreign_host, foreign_origin
from bot.loopback_discord import FLAG_EPHEMERAL, LoopbackDiscord, bound_port
from bot.playground.botprocess import BotProcess, bot_environment
from bot.playground.preview import entry_list, knowledge_error_json, preview_entry, preview_text

log = logging.getLogger("netexplain.playground")

STATIC = Path(__file__).parent / "static"
WATCHED_CHANNEL = "help"
MAGNIFIER = "\N{RIGHT-POINTING MAGNIFYING GLASS}"
BOT_READY_TIMEOUT = 60.0
RESPONSE_TIMEOUT = 3.0  # Discord gives a bot 3 seconds to answer an interaction
NO_RESPONSE = "The application did not respond"  # what Discord shows when a bot misses that
MAX_MESSAGE = 4000  # Discord's own limit for a message (with Nitro)
SEED_QUESTION = "after upgrading node my app says connect ECONNREFUSED ::1:5432, postgres is running though"

OPTION_STRING, OPTION_INTEGER, OPTION_BOOLEAN, OPTION_CHANNEL, OPTION_NUMBER = 3, 4, 5, 7, 10
SUBCOMMAND, SUBCOMMAND_GROUP = 1, 2
CHAT_INPUT, MESSAGE_COMMAND = 1, 3
CONTEXT_DM = 1


class UserError(Exception):
    """Something the person on the page did wrong: answered with one sentence and HTTP 400."""


class Playground:
    """The loopback Discord, the bot child process, the knowledge preview and the page's web app."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        knowledge: Path | None = None,
        message_content: bool = True,
        start_bot: bool = True,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.knowledge_root = (knowledge or knowledge_dir()).resolve()
        self.message_content = message_content
        self.start_bot = start_bot
        self.echo = echo or (lambda line: None)
        self.server = LoopbackDiscord()
        self.kb: Knowledge | None = None
        self.kb_error: KnowledgeError | None = None
        self.kb_fingerprint: str | None = None
        self.bot: BotProcess | None = None
        self.bot_status = "stopped"
        self.bot_detail = ""
        self._bot_fingerprint: str | None = None
        self._bot_task: asyncio.Task[None] | None = None
        self._world_ready = False  # #help watched and sam's question asked (settings survive restarts)
        self._reload_lock = asyncio.Lock()
        self._clients: set[asyncio.Queue[dict[str, Any]]] = set()
        self._tmp = tempfile.TemporaryDirectory(prefix="netexplain-playground-")
        self._runner: web.AppRunner | None = None
        self._build_world()
        self.app = self._make_app()

    # ------------------------------------------------------------------ the world

    def _build_world(self) -> None:
        srv = self.server
        guild = srv.create_guild("netexplain playground")
        self.guild_id: str = guild["id"]
        self.owner_id: str = guild["owner_id"]
        self.general_id: str = srv.create_channel(self.guild_id, "general")["id"]
        self.watched_id: str = srv.create_channel(self.guild_id, WATCHED_CHANNEL)["id"]
        self.you_id: str = srv.create_user("you", guild_id=self.guild_id, manage_guild=True)["id"]
        self.other_id: str = srv.create_user("sam", guild_id=self.guild_id)["id"]
        self.dm_id: str = srv.dm_channel(self.you_id)["id"]

    @property
    def url(self) -> str:
        """The page's address (a bracketed IPv6 host where needed)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Serve the loopback Discord and the page, load the knowledge, start the bot in the background."""
        await self.server.start()
        self._runner = web.AppRunner(self.app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = bound_port(site)
        await self._load_knowledge()
        if self.start_bot:
            self._bot_task = asyncio.create_task(self._run_bot())

    async def stop(self) -> None:
        """Stop the bot, the page and the loopback Discord, and remove the settings database."""
        if self._bot_task is not None:
            self._bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._bot_task
        await self._stop_bot()
        for queue in list(self._clients):
            queue.put_nowait({"type": "closing"})
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.server.stop()
        self._tmp.cleanup()

    async def __aenter__(self) -> Playground:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ the bot

    def _set_status(self, status: str, detail: str = "") -> None:
        self.bot_status, self.bot_detail = status, detail
        self._broadcast({"type": "bot_status", "status": status, "detail": detail})

    def _bot_env(self) -> dict[str, str]:
        return bot_environment(
            os.environ,
            token=self.server.token,
            api_base=self.server.api_base,
            gateway_url=self.server.gateway_url,
            db=Path(self._tmp.name) / "settings.sqlite3",
            message_content=self.message_content,
            knowledge=self.knowledge_root,
        )

    async def _run_bot(self) -> None:
        """Sync the commands (once), start `netexplain run`, wait for READY, then set up the world (once)."""
        self._set_status("starting", "netexplain is connecting to the loopback Discord…")
        env = self._bot_env()
        # `sync` (once, as an operator does after installing) runs alongside the bot's own start.
        need_sync = not self.server.synced_commands
        sync = await BotProcess(env, command="sync", on_line=self._echo_bot).start() if need_sync else None
        try:
            self._bot_fingerprint = self.kb_fingerprint
            self.bot = await BotProcess(env, on_line=self._echo_bot).start()
            if sync is not None:
                if await sync.wait(BOT_READY_TIMEOUT) != 0:
                    await self._stop_bot()
                    self._set_status("offline", _last_words(sync.lines, "netexplain sync failed"))
                    return
                self._broadcast({"type": "commands", "commands": self.commands_json()})
        finally:
            if sync is not None:
                await sync.stop()  # a no-op once it exited; ends it if this start was cancelled
        if not await self.bot.wait_ready(BOT_READY_TIMEOUT):
            detail = _last_words(self.bot.lines, "netexplain did not become ready")
            await self._stop_bot()
            self._set_status("offline", detail)
            return
        first_start = not self._world_ready
        if first_start:
            await self._watch_help_channel()
            self._world_ready = True
        self._set_status("online")
        if first_start:
            await self.server.send_message(self.other_id, self.watched_id, SEED_QUESTION)
        code = await self.bot.wait()
        if self.bot_status == "online":  # not a stop we asked for
            self._set_status("offline", _last_words(self.bot.lines, f"netexplain exited with code {code}"))

    def _echo_bot(self, line: str) -> None:
        self.echo(f"bot | {line}")

    async def _watch_help_channel(self) -> None:
        """The server owner runs `/netexplain channels add` in #help, as a real admin would."""
        options = [
            {"name": "channels", "type": SUBCOMMAND_GROUP, "options": [{"name": "add", "type": SUBCOMMAND}]}
        ]
        interaction = await self.server.slash_command(self.owner_id, self.watched_id, "netexplain", options)
        try:
            await interaction.response(timeout=10.0)
        except TimeoutError:
            log.warning("the bot did not confirm watching #%s; 🔎 reactions may not appear", WATCHED_CHANNEL)

    async def _stop_bot(self) -> None:
        bot, self.bot = self.bot, None
        if bot is not None:
            code = await bot.stop()
            log.debug("bot stopped with %s", code)

    async def restart_bot(self) -> None:
        """Stop the bot and start it again (on the current knowledge); returns once it was started."""
        self._set_status("restarting", "netexplain restarts on the reloaded knowledge…")
        if self._bot_task is not None:
            self._bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._bot_task
        await self._stop_bot()
        self._bot_task = asyncio.create_task(self._run_bot())

    # ------------------------------------------------------------------ knowledge

    async def _load_knowledge(self) -> None:
        try:
            self.kb = await asyncio.to_thread(load_knowledge, self.knowledge_root, reload=True)
            self.kb_error = None
        except KnowledgeError as exc:
            self.kb_error = exc
        self.kb_fingerprint = await asyncio.to_thread(fingerprint, self.knowledge_root)

    def _require_kb(self) -> Knowledge:
        if self.kb is None:
            raise UserError(f"The knowledge base does not load: {self.kb_error}")
        return self.kb

    async def reload_knowledge(self) -> dict[str, Any]:
        """Read the YAML again; on success restart the bot when the files changed since it started."""
        async with self._reload_lock:
            await self._load_knowledge()
            restarting = False
            if self.kb_error is None and self.start_bot and self.kb_fingerprint != self._bot_fingerprint:
                await self.restart_bot()
                restarting = True
            state = self.knowledge_json()
            state["bot_restarting"] = restarting
            self._broadcast({"type": "knowledge", "knowledge": self.knowledge_json()})
            return state

    def knowledge_json(self) -> dict[str, Any]:
        """The preview's state: where the files are, the entries, and the load error if any."""
        return {
            "root": str(self.knowledge_root),
            "entries": [e.to_json() for e in entry_list(self.kb)] if self.kb is not None else [],
            "examples": list(self.kb.examples) if self.kb is not None else [],
            "error": knowledge_error_json(self.kb_error) if self.kb_error is not None else None,
        }

    # ------------------------------------------------------------------ what the page sees

    def _recipient(self, message: dict[str, Any]) -> str | None:
        """Who may see an ephemeral message: the person whose interaction produced it."""
        meta = message.get("interaction_metadata") or {}
        user = meta.get("user")
        if not user:
            interaction = self.server.interactions.get(str(meta.get("id")))
            payload = interaction.payload if interaction is not None else {}
            user = (payload.get("member") or {}).get("user") or payload.get("user") or {}
        return str(user.get("id")) if user else None

    def visible(self, message: dict[str, Any]) -> bool:
        """Ephemeral messages are shown only to the person they are for, as Discord does."""
        return not message["flags"] & FLAG_EPHEMERAL or self._recipient(message) == self.you_id

    def reactions_json(self, message_id: str) -> list[dict[str, Any]]:
        """Reaction chips: emoji, count, and whether you reacted."""
        counts: dict[str, list[str]] = {}
        for user_id, emoji in self.server.reactions.get(message_id, []):
            counts.setdefault(emoji, []).append(user_id)
        return [{"emoji": e, "count": len(u), "me": self.you_id in u} for e, u in counts.items()]

    def message_json(self, message: dict[str, Any]) -> dict[str, Any]:
        """A message as the page draws it."""
        ref = message.get("referenced_message")
        meta = message.get("interaction_metadata") or {}
        interaction = self.server.interactions.get(str(meta.get("id")))
        command = None
        if interaction is not None and interaction.payload["type"] == 2:
            data = interaction.payload.get("data") or {}
            command = {"name": _command_path(data), "user_id": self._recipient(message)}
        return {
            "id": message["id"],
            "channel_id": message["channel_id"],
            "author": {
                "id": message["author"]["id"],
                "name": message["author"].get("global_name") or message["author"]["username"],
                "bot": bool(message["author"].get("bot")),
            },
            "content": message.get("content") or "",
            "timestamp": message["timestamp"],
            "edited": message.get("edited_timestamp") is not None,
            "embeds": message.get("embeds") or [],
            "components": message.get("components") or [],
            "ephemeral": bool(message["flags"] & FLAG_EPHEMERAL),
            "loading": bool(message["flags"] & 128),
            "reactions": self.reactions_json(message["id"]),
            "reply_to": (
                {
                    "id": ref["id"],
                    "author": ref["author"].get("global_name") or ref["author"]["username"],
                    "content": (ref.get("content") or "")[:200],
                }
                if ref
                else None
            ),
            "command": command,
        }

    def commands_json(self) -> dict[str, Any]:
        """Slash commands flattened to leaves (`/netexplain channels add`), and the message commands."""
        synced = [
            *self.server.synced_commands.get(None, []),
            *self.server.synced_commands.get(self.guild_id, []),
        ]
        slash: list[dict[str, Any]] = []
        for cmd in synced:
            if int(cmd.get("type", CHAT_INPUT)) == CHAT_INPUT:
                contexts = cmd.get("contexts")
                in_dms = CONTEXT_DM in contexts if contexts is not None else cmd.get("dm_permission", True)
                slash += [{**leaf, "dm": in_dms} for leaf in _leaves([cmd["name"]], cmd)]
        menus = [c["name"] for c in synced if int(c.get("type", CHAT_INPUT)) == MESSAGE_COMMAND]
        return {"slash": slash, "message": menus}

    def snapshot(self) -> dict[str, Any]:
        """Everything the page needs to draw itself; sent first on every websocket."""
        srv = self.server
        guild = srv.guilds[self.guild_id]
        channels = [
            {"id": c["id"], "name": c["name"], "watched": c["id"] == self.watched_id}
            for c in srv.channels.values()
            if c.get("guild_id") == self.guild_id
        ]
        users = {
            uid: {"name": u.get("global_name") or u["username"], "bot": u["bot"]}
            for uid, u in srv.users.items()
        }
        messages = [self.message_json(m) for m in list(srv.messages.values()) if self.visible(m)]
        return {
            "type": "hello",
            "you": self.you_id,
            "bot": {"id": srv.bot_user["id"], "name": srv.bot_user["username"]},
            "guild": {"id": self.guild_id, "name": guild["name"], "channels": channels},
            "dm": {"id": self.dm_id, "name": srv.bot_user["username"]},
            "users": users,
            "members": [uid for uid in (self.you_id, self.other_id, srv.bot_user["id"])],
            "messages": messages,
            "commands": self.commands_json(),
            "bot_status": {"status": self.bot_status, "detail": self.bot_detail},
            "message_content": self.message_content,
            "knowledge": self.knowledge_json(),
        }

    def page_event(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """A loopback-Discord state change as the page needs it, or None when the page doesn't care."""
        kind = event["type"]
        if kind in ("message_create", "message_update"):
            message = self.server.messages.get(event["message"]["id"])
            if message is None or not self.visible(message):
                return None
            return {"type": kind, "message": self.message_json(message)}
        if kind == "message_delete":
            return {"type": kind, "message_id": event["message_id"], "channel_id": event["channel_id"]}
        if kind in ("reaction_add", "reaction_remove"):
            mid = event["message_id"]
            if mid not in self.server.messages:
                return None
            return {"type": "reactions", "message_id": mid, "reactions": self.reactions_json(mid)}
        if kind == "typing":
            return {"type": "typing", "channel_id": event["channel_id"]}
        if kind == "commands_synced":
            return {"type": "commands", "commands": self.commands_json()}
        return None

    def _broadcast(self, event: dict[str, Any]) -> None:
        for queue in self._clients:
            queue.put_nowait(event)

    # ------------------------------------------------------------------ the web app

    def _make_app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard, self._errors], client_max_size=256 * 1024)
        r = app.router
        r.add_get("/", self._index)
        r.add_static("/static/", STATIC, append_version=False)
        r.add_get("/api/state", self._state)
        r.add_get("/api/events", self._events)
        r.add_post("/api/messages", self._post_message)
        r.add_patch("/api/messages/{message_id}", self._edit_message)
        r.add_delete("/api/messages/{message_id}", self._delete_message)
        r.add_put("/api/messages/{message_id}/reactions/{emoji}", self._react)
        r.add_delete("/api/messages/{message_id}/reactions/{emoji}", self._unreact)
        r.add_post("/api/commands", self._run_command)
        r.add_post("/api/autocomplete", self._autocomplete)
        r.add_post("/api/message-commands", self._message_command)
        r.add_post("/api/components", self._component)
        r.add_get("/api/knowledge", self._knowledge)
        r.add_post("/api/knowledge/preview", self._preview)
        r.add_post("/api/knowledge/reload", self._reload)
        return app

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Only this page may drive the API: right Host, same Origin, JSON bodies."""
        host = request.headers.get("Host", "")
        if foreign_host(host, allowed_hosts(self.host, self.port)):
            return _json_error(403, f"This playground answers only on {self.url}.")
        if request.path.startswith("/api/") and foreign_origin(request.headers.get("Origin"), host):
            return _json_error(403, "Requests from other sites are refused.")
        # Every body is JSON (POST and PATCH always have one; the page's PUT has none), so no plain HTML
        # form from another site can reach a handler.
        has_body = request.method in ("POST", "PATCH") or (request.method == "PUT" and request.body_exists)
        if has_body and request.content_type != "application/json":
            return _json_error(415, "Send JSON (Content-Type: application/json).")
        return await handler(request)

    @web.middleware
    async def _errors(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """User errors: one sentence, 400. Ours: logged with context, an apology, 500."""
        try:
            return await handler(request)
        except web.HTTPException:
            raise
        except UserError as exc:
            return _json_error(400, str(exc))
        except Exception:
            log.exception("playground request %s %s failed", request.method, request.path)
            return _json_error(500, "Sorry, the playground failed to do that; the details are in its log.")

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        """The snapshot, then every change, as JSON text frames."""
        ws = web.WebSocketResponse(heartbeat=30.0)
        await ws.prepare(request)
        queue = self.server.subscribe()
        self._clients.add(queue)
        try:
            await ws.send_json(self.snapshot())
            reader = asyncio.create_task(_drain(ws))
            while not ws.closed:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    break
                event = getter.result()
                if event["type"] == "closing":
                    break
                out = event if event["type"] in _OWN_EVENTS else self.page_event(event)
                if out is not None:
                    await ws.send_json(out)
            reader.cancel()
        except (ConnectionResetError, RuntimeError):
            pass  # the page went away mid-send
        finally:
            self._clients.discard(queue)
            self.server.unsubscribe(queue)
            await ws.close()
        return ws

    # -- acting as you

    def _channel(self, raw: Any) -> str:
        channel_id = str(raw)
        if channel_id not in (self.general_id, self.watched_id, self.dm_id):
            raise UserError("There is no such channel in the playground.")
        return channel_id

    def _message(self, message_id: str) -> dict[str, Any]:
        message = self.server.messages.get(message_id)
        if message is None or not self.visible(message):
            raise UserError("That message no longer exists.")
        return message

    def _own_message(self, message_id: str) -> dict[str, Any]:
        message = self._message(message_id)
        if message["author"]["id"] != self.you_id and not (
            message["flags"] & FLAG_EPHEMERAL
        ):  # your ephemeral replies can be dismissed
            raise UserError("You can only edit or delete your own messages.")
        return message

    def _text(self, body: dict[str, Any], key: str = "content") -> str:
        text = body.get(key)
        if not isinstance(text, str) or not text.strip():
            raise UserError("Type a message first.")
        if len(text) > MAX_MESSAGE:
            raise UserError(f"Messages are limited to {MAX_MESSAGE} characters.")
        return self._mentions(text)

    def _mentions(self, text: str) -> str:
        """`@name` of a playground member becomes a real mention (`<@id>`), as Discord's composer does."""
        names = {
            (u.get("global_name") or u["username"]).lower(): uid
            for uid, u in self.server.users.items()
            if uid == self.server.bot_user["id"] or uid in self.server.members.get(self.guild_id, {})
        }

        def swap(match: re.Match[str]) -> str:
            uid = names.get(match.group(1).lower())
            return f"<@{uid}>" if uid else match.group(0)

        return re.sub(r"(?<![\w<])@([\w.-]+)", swap, text)

    async def _post_message(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        channel_id = self._channel(body.get("channel_id"))
        content = self._text(body)
        reply_to = body.get("reply_to")
        if reply_to is not None:
            reply_to = str(reply_to)
            if self._message(reply_to)["channel_id"] != channel_id:
                raise UserError("You can only reply to a message in the same channel.")
        message = await self.server.send_message(self.you_id, channel_id, content, reply_to=reply_to)
        return web.json_response({"id": message["id"]})

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._own_message(request.match_info["message_id"])
        if message["author"]["id"] != self.you_id:
            raise UserError("You can only edit your own messages.")
        body = await _json_body(request)
        await self.server.edit_message(message["id"], self._text(body))
        return web.json_response({"id": message["id"]})

    async def _delete_message(self, request: web.Request) -> web.Response:
        message = self._own_message(request.match_info["message_id"])
        await self.server.delete_message(message["id"])
        return web.json_response({"deleted": message["id"]})

    async def _react(self, request: web.Request) -> web.Response:
        message = self._message(request.match_info["message_id"])
        await self.server.add_reaction(self.you_id, message["id"], request.match_info["emoji"])
        return web.json_response({"reactions": self.reactions_json(message["id"])})

    async def _unreact(self, request: web.Request) -> web.Response:
        message = self._message(request.match_info["message_id"])
        await self.server.remove_reaction(self.you_id, message["id"], request.match_info["emoji"])
        return web.json_response({"reactions": self.reactions_json(message["id"])})

    def _leaf(self, path: Any) -> dict[str, Any]:
        if not isinstance(path, list) or not all(isinstance(p, str) for p in path):
            raise UserError("Pick a command from the list.")
        leaf: dict[str, Any]
        for leaf in self.commands_json()["slash"]:
            if leaf["path"] == path:
                return leaf
        raise UserError(f"There is no /{' '.join(path)} command; pick one from the list.")

    def _wire_options(
        self, leaf: dict[str, Any], values: Any, *, focused: str | None = None
    ) -> list[dict[str, Any]]:
        """Discord's nested `options` for a leaf command and the values typed into its option boxes."""
        if not isinstance(values, dict):
            raise UserError("Command options must be given as name: value.")
        opts: list[dict[str, Any]] = []
        for spec in leaf["options"]:
            name = spec["name"]
            raw = values.get(name)
            if raw is None or raw == "":
                if spec.get("required") and name != focused:
                    raise UserError(f"/{' '.join(leaf['path'])} needs a value for {name}.")
                if name != focused:
                    continue
                raw = ""
            opt: dict[str, Any] = {
                "name": name,
                "type": spec["type"],
                "value": _option_value(spec, raw, focused),
            }
            if name == focused:
                opt["focused"] = True
            opts.append(opt)
        for name in reversed(leaf["path"][1:]):
            kind = (
                SUBCOMMAND
                if not opts or opts[0].get("type") not in (SUBCOMMAND, SUBCOMMAND_GROUP)
                else SUBCOMMAND_GROUP
            )
            opts = [{"name": name, "type": kind, "options": opts}]
        return opts

    def _command_channel(self, leaf: dict[str, Any], body: dict[str, Any]) -> str:
        channel_id = self._channel(body.get("channel_id"))
        if channel_id == self.dm_id and not leaf["dm"]:
            raise UserError(f"/{' '.join(leaf['path'])} works only in a server.")
        return channel_id

    async def _run_command(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        leaf = self._leaf(body.get("path"))
        channel_id = self._command_channel(leaf, body)
        options = self._wire_options(leaf, body.get("options") or {})
        interaction = await self.server.slash_command(self.you_id, channel_id, leaf["path"][0], options)
        return await _answered(interaction)

    async def _autocomplete(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        leaf = self._leaf(body.get("path"))
        channel_id = self._command_channel(leaf, body)
        focused = body.get("focused")
        if not any(o["name"] == focused and o.get("autocomplete") for o in leaf["options"]):
            raise UserError("That option has no suggestions.")
        options = self._wire_options(leaf, body.get("options") or {}, focused=str(focused))
        try:
            choices = await self.server.autocomplete(
                self.you_id, channel_id, leaf["path"][0], options, timeout=RESPONSE_TIMEOUT
            )
        except TimeoutError:
            return web.json_response({"choices": [], "error": NO_RESPONSE})
        return web.json_response({"choices": choices})

    async def _message_command(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        name = str(body.get("name"))
        if name not in self.commands_json()["message"]:
            raise UserError("There is no such app for messages.")
        message = self._message(str(body.get("message_id")))
        interaction = await self.server.message_command(
            self.you_id, message["channel_id"], name, message["id"]
        )
        return await _answered(interaction)

    async def _component(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        message = self._message(str(body.get("message_id")))
        custom_id = body.get("custom_id")
        if not isinstance(custom_id, str):
            raise UserError("Pick a button or a menu option.")
        values = body.get("values")
        try:
            if values is None:
                interaction = await self.server.click_button(self.you_id, message["id"], custom_id)
            else:
                if not isinstance(values, list):
                    raise UserError("Pick a menu option.")
                interaction = await self.server.choose(
                    self.you_id, message["id"], custom_id, [str(v) for v in values]
                )
        except ValueError as exc:
            raise UserError(f"That component can't be used: {exc}.") from None
        return await _answered(interaction)

    # -- knowledge preview

    async def _knowledge(self, request: web.Request) -> web.Response:
        return web.json_response(self.knowledge_json())

    async def _preview(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        kb = self._require_kb()
        os_id = body.get("os")
        if os_id not in (None, "linux", "macos", "windows"):
            raise UserError("The system must be linux, macos or windows.")
        if body.get("entry"):
            try:
                result = await asyncio.to_thread(preview_entry, str(body["entry"]), kb, os=os_id)
            except KeyError:
                raise UserError(f"There is no entry {body['entry']!r} in the knowledge base.") from None
        else:
            text = body.get("text")
            if not isinstance(text, str) or not text.strip():
                raise UserError("Pick an entry or type something to explain.")
            if len(text) > MAX_MESSAGE:
                raise UserError(f"Messages are limited to {MAX_MESSAGE} characters.")
            result = preview_text(text, kb, os=os_id)
        return web.json_response(result)

    async def _reload(self, request: web.Request) -> web.Response:
        state = await self.reload_knowledge()
        return web.json_response(state, status=200 if state["error"] is None else 422)


_OWN_EVENTS = frozenset({"bot_status", "commands", "knowledge"})


def _leaves(path: list[str], node: dict[str, Any]) -> list[dict[str, Any]]:
    """Every runnable path under a chat command, with its options (Discord's composer lists them so)."""
    options = node.get("options") or []
    subs = [o for o in options if o.get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP)]
    if not subs:
        return [
            {
                "path": path,
                "description": node.get("description") or "",
                "options": [
                    {
                        "name": o["name"],
                        "type": o["type"],
                        "description": o.get("description") or "",
                        "required": bool(o.get("required")),
                        "autocomplete": bool(o.get("autocomplete")),
                        "choices": o.get("choices") or [],
                        "min_value": o.get("min_value"),
                        "max_value": o.get("max_value"),
                    }
                    for o in sorted(options, key=lambda o: not o.get("required"))
                ],
            }
        ]
    return [leaf for sub in subs for leaf in _leaves([*path, sub["name"]], sub)]


def _option_value(spec: dict[str, Any], raw: Any, focused: str | None) -> Any:
    """A typed option value from what was typed; autocomplete sends the partial text as it is."""
    kind, name = spec["type"], spec["name"]
    if name == focused:
        return str(raw)
    if kind == OPTION_BOOLEAN:
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in ("true", "false"):
            return str(raw).lower() == "true"
        raise UserError(f"{name} must be true or false.")
    if kind in (OPTION_INTEGER, OPTION_NUMBER):
        try:
            value: float = int(str(raw)) if kind == OPTION_INTEGER else float(str(raw))
        except ValueError:
            raise UserError(f"{name} must be a {'whole ' if kind == OPTION_INTEGER else ''}number.") from None
        low, high = spec.get("min_value"), spec.get("max_value")
        if (low is not None and value < low) or (high is not None and value > high):
            raise UserError(f"{name} must be between {low} and {high}.")
        return value
    if kind == OPTION_CHANNEL:
        return str(raw)
    text = str(raw)
    if spec.get("choices") and text not in [str(c["value"]) for c in spec["choices"]]:
        raise UserError(f"{name} must be one of: {', '.join(str(c['value']) for c in spec['choices'])}.")
    return text


def _command_path(data: dict[str, Any]) -> str:
    parts = [data.get("name") or ""]
    options = data.get("options") or []
    while options and options[0].get("type") in (SUBCOMMAND, SUBCOMMAND_GROUP):
        parts.append(options[0]["name"])
        options = options[0].get("options") or []
    return " ".join(parts)


async def _answered(interaction: Any) -> web.Response:
    """Wait (as Discord does, 3 s) for the bot to acknowledge an interaction."""
    try:
        await interaction.response(timeout=RESPONSE_TIMEOUT)
    except TimeoutError:
        return web.json_response({"ok": False, "error": NO_RESPONSE})
    return web.json_response({"ok": True})


async def _json_body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise UserError("The request body is not valid JSON.") from None
    except RecursionError:  # `[[[[…`: deeper than Python's JSON parser goes
        raise UserError("The request body is nested too deeply.") from None
    if not isinstance(body, dict):
        raise UserError("The request body must be a JSON object.")
    return body


async def _drain(ws: web.WebSocketResponse) -> None:
    """Read (and ignore) what the page sends, so a close from the page is noticed."""
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.ERROR):
            break


def _json_error(status: int, sentence: str) -> web.Response:
    return web.json_response({"error": sentence}, status=status)


def _last_words(lines: list[str], fallback: str) -> str:
    """The child's last meaningful line (its one-sentence failure), else `fallback`."""
    for line in reversed(lines):
        if line.strip():
            return line.strip()
    return fallback


# ---------------------------------------------------------------------- command line


def _parser(prog: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Try netexplain without a Discord account: the real bot, a local Discord, a page.",
    )
    p.add_argument(
        "--host", default="127.0.0.1", help="address for the page (default 127.0.0.1: this machine only)"
    )
    p.add_argument("--port", type=int, default=0, help="port for the page (default: a free one)")
    p.add_argument("--open", action="store_true", help="open the page in the default browser")
    p.add_argument(
        "--knowledge",
        type=Path,
        default=None,
        metavar="DIR",
        help="knowledge folder to preview and answer from",
    )
    p.add_argument(
        "--no-message-content",
        action="store_true",
        help="run the bot without the message-content intent (watching off), as many bots run",
    )
    return p


async def _serve(args: argparse.Namespace, explicit_host: bool) -> int:
    playground = Playground(
        host=args.host,
        port=args.port,
        knowledge=args.knowledge,
        message_content=not args.no_message_content,
        echo=lambda line: print(line, file=sys.stderr, flush=True),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await playground.start()
    except OSError as exc:
        await playground.stop()
        print(
            f"netexplain playground: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}.",
            file=sys.stderr,
        )
        return 1
    where = (
        f"Listening on {args.host} as you asked: anyone who can reach it can post as you."
        if explicit_host and args.host not in LOOPBACK_HOSTS
        else f"Listening on {args.host} only (this machine); --host chooses another address."
    )
    print(f"netexplain playground: {playground.url}", flush=True)
    print(f"  {where}", flush=True)
    print(
        "  The bot runs as `python -m bot.cli run` against the loopback Discord at "
        f"{playground.server.api_base}."
    )
    print("  Ctrl-C stops it.", flush=True)
    if playground.kb_error is not None:
        print(f"  The knowledge base does not load: {playground.kb_error}", flush=True)
    if args.open:
        webbrowser.open(playground.url)
    try:
        await stop.wait()
    finally:
        print("netexplain playground: stopping.", flush=True)
        await playground.stop()
    return 0


def main(argv: list[str] | None = None, prog: str = "python -m bot.playground") -> int:
    """`python -m bot.playground [--host H] [--port P] [--open] [--knowledge DIR] [--no-message-content]`.

    `prog` names the command in `--help` (e.g. "netexplain playground" when a subcommand calls this).
    """
    args_list = sys.argv[1:] if argv is None else argv
    args = _parser(prog).parse_args(args_list)
    explicit_host = any(a == "--host" or a.startswith("--host=") for a in args_list)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return asyncio.run(_serve(args, explicit_host))
    except KeyboardInterrupt:
        return 0


__all__ = ["Playground", "main"]
