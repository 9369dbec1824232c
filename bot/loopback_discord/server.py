"""The loopback Discord server itself: lifecycle, the route table and the REST middleware.

:class:`LoopbackDiscord` puts the concerns of this package together (state, gateway, world building,
people, interactions, REST routes, faults) and serves them with aiohttp on 127.0.0.1.  Every call under
``/api/v10`` passes the middleware, which records it in :attr:`~LoopbackDiscord.rest_log`, injects a
pending fault, checks the bot token and answers Discord's JSON 404 for anything unrouted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import yarl
from aiohttp import web

from bot.local_origin import allowed_hosts, foreign_host, foreign_origin
from bot.loopback_discord.faults import Faults
from bot.loopback_discord.protocol import API_PREFIX
from bot.loopback_discord.rest_commands import CommandRoutes
from bot.loopback_discord.rest_identity import IdentityRoutes
from bot.loopback_discord.rest_interactions import InteractionRoutes
from bot.loopback_discord.wire import RestCall, error_response, read_body


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


class LoopbackDiscord(InteractionRoutes, IdentityRoutes, CommandRoutes, Faults):
    """In-memory Discord-compatible REST + gateway server for one bot, bound to loopback."""

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
        super().__init__(
            host=host,
            port=port,
            token=token,
            privileged_intents_allowed=privileged_intents_allowed,
            bot_name=bot_name,
            shard_count=shard_count,
            max_concurrency=max_concurrency,
            enforce_identify_rate=enforce_identify_rate,
            session_start_limit=session_start_limit,
            guilds_per_shard=guilds_per_shard,
        )
        self.app = web.Application(middlewares=[self._local_only, self._api_middleware])
        self._add_routes()

    # ------------------------------------------------------------------ lifecycle

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
    async def _local_only(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Refuse browsers on other sites and rebound names, on REST and the gateway alike.

        The same rules as the playground page's own API (:mod:`bot.local_origin`); refused requests are
        not the bot's, so they are not recorded in :attr:`rest_log`.
        """
        host = request.headers.get("Host", "")
        if foreign_host(host, allowed_hosts(self.host, self.port)):
            return error_response(403, "403: Forbidden (unknown Host)")
        if foreign_origin(request.headers.get("Origin"), host):
            return error_response(403, "403: Forbidden (cross-site request)")
        return await handler(request)

    @web.middleware
    async def _api_middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Record, authenticate and fault-inject every REST call under /api/v10."""
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        body = await read_body(request)
        call = RestCall(request.method, path, dict(request.query), body)
        self.rest_log.append(call)
        self._bodies[id(request)] = body
        response: web.StreamResponse | None = self._fault_for(request.method, path)
        if response is None and not self._authorised(request, path):
            response = error_response(401, "401: Unauthorized")
        if response is None:
            try:
                response = await handler(request)
            except web.HTTPException as exc:  # aiohttp's own 404/405 before our catch-all ran
                response = error_response(exc.status, f"{exc.status}: {exc.reason}")
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

    async def _not_found(self, request: web.Request) -> web.Response:
        return error_response(404, "404: Not Found")


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
    """``python -m bot.loopback_discord [PORT]``: serve a demo world for manual runs of the bot."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_demo(int(args[0]) if args else 0))


if __name__ == "__main__":
    main()
