"""REST routes about who and where: the bot user, the application, the gateway URL, channels and guilds.

Read-only except opening a DM channel (``POST /users/@me/channels``) and the typing indicator, which is
published to subscribers.  ``GET /gateway/bot`` recommends :attr:`shard_count` shards and reports the
session start budget that the gateway enforces.
"""

from __future__ import annotations

from aiohttp import web

from bot.loopback_discord.wire import error_response, json_response, no_content
from bot.loopback_discord.world import World

SESSION_START_RESET_MS = 3_600_000  # the loopback's budget never renews; it says an hour


class IdentityRoutes(World):
    """Handlers for users, the application, the gateway, channels and guilds."""

    async def _get_me(self, request: web.Request) -> web.Response:
        return json_response({**self.bot_user, "verified": True, "mfa_enabled": False, "email": None})

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user_id"])
        return json_response(user) if user else error_response(404, "Unknown User", 10013)

    async def _get_appinfo(self, request: web.Request) -> web.Response:
        return json_response(
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
        return json_response({"url": self.gateway_url})

    async def _get_gateway_bot(self, request: web.Request) -> web.Response:
        return json_response(
            {
                "url": self.gateway_url,
                "shards": self.shard_count,
                "session_start_limit": {
                    "total": self.session_starts_total,
                    "remaining": self.session_starts_remaining,
                    "reset_after": SESSION_START_RESET_MS,
                    "max_concurrency": self.max_concurrency,
                },
            }
        )

    async def _create_dm(self, request: web.Request) -> web.Response:
        body = self._bodies.get(id(request)) or {}
        recipient = str(body.get("recipient_id"))
        if recipient not in self.users:
            return error_response(400, "Invalid Recipient(s)", 50033)
        return json_response(self.dm_channel(recipient))

    async def _get_channel(self, request: web.Request) -> web.Response:
        channel = self.channels.get(request.match_info["channel_id"])
        return json_response(channel) if channel else error_response(404, "Unknown Channel", 10003)

    async def _typing(self, request: web.Request) -> web.Response:
        if request.match_info["channel_id"] not in self.channels:
            return error_response(404, "Unknown Channel", 10003)
        self._publish("typing", channel_id=request.match_info["channel_id"])
        return no_content()

    async def _get_guild(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid not in self.guilds:
            return error_response(404, "Unknown Guild", 10004)
        return json_response(self._guild_payload(gid, full=False))

    async def _get_guild_channels(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid not in self.guilds:
            return error_response(404, "Unknown Guild", 10004)
        return json_response([c for c in self.channels.values() if c.get("guild_id") == gid])

    async def _get_guild_roles(self, request: web.Request) -> web.Response:
        gid = request.match_info["guild_id"]
        if gid not in self.guilds:
            return error_response(404, "Unknown Guild", 10004)
        return json_response(self.guilds[gid]["roles"])

    async def _get_member(self, request: web.Request) -> web.Response:
        gid, uid = request.match_info["guild_id"], request.match_info["user_id"]
        if gid not in self.guilds:
            return error_response(404, "Unknown Guild", 10004)
        if uid not in self.members.get(gid, {}):
            return error_response(404, "Unknown Member", 10007)
        return json_response(self._member_with_user(gid, uid))
