"""REST routes for application commands: bulk overwrite, list, create and delete, global or per guild.

Synced commands keep their id across overwrites (matched by name and type) as Discord does, so the ids in
later interactions stay valid; :attr:`synced_commands` is keyed by guild id (``None`` for global).
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from bot.loopback_discord.state import WorldState
from bot.loopback_discord.wire import error_response, json_response, no_content


class CommandRoutes(WorldState):
    """Handlers for ``/applications/{app}/commands`` and ``/applications/{app}/guilds/{guild}/commands``."""

    def _scope(self, request: web.Request) -> tuple[str | None, web.Response | None]:
        if request.match_info["app_id"] != self.application_id:
            return None, error_response(403, "Missing Access", 50001)
        guild_id = request.match_info.get("guild_id")
        if guild_id is not None and guild_id not in self.guilds:
            return None, error_response(404, "Unknown Guild", 10004)
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
            return error_response(400, "Invalid Form Body", 50035)
        existing = self.synced_commands.get(guild_id, [])
        records = [self._command_record(guild_id, c, existing) for c in body]
        self.synced_commands[guild_id] = records
        self._publish("commands_synced", guild_id=guild_id, commands=records)
        return json_response(records)

    async def _get_commands(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        return json_response(self.synced_commands.get(guild_id, []))

    async def _post_command(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        existing = self.synced_commands.setdefault(guild_id, [])
        record = self._command_record(guild_id, self._bodies.get(id(request)) or {}, existing)
        existing[:] = [c for c in existing if c["id"] != record["id"]] + [record]
        self._publish("commands_synced", guild_id=guild_id, commands=existing)
        return json_response(record, status=201)

    async def _delete_command(self, request: web.Request) -> web.Response:
        guild_id, error = self._scope(request)
        if error is not None:
            return error
        existing = self.synced_commands.get(guild_id, [])
        command_id = request.match_info["command_id"]
        if not any(c["id"] == command_id for c in existing):
            return error_response(404, "Unknown application command", 10063)
        self.synced_commands[guild_id] = [c for c in existing if c["id"] != command_id]
        return no_content()
