"""Interactions started by people: slash commands, autocomplete, context menus, clicks and selects.

An :class:`Interaction` is what a test holds on to: the payload the bot received, the callbacks it sent
back and its @original and followup messages.  Payloads carry what discord.py needs (resolved options,
member permissions, synced command ids).  The bot's side (callbacks, followups) is in
:mod:`bot.loopback_discord.rest_interactions`.
"""

from __future__ import annotations

import asyncio
import copy
import secrets
from typing import Any

from bot.loopback_discord.gateway import Gateway
from bot.loopback_discord.limits import ATTACHMENT_SIZE_LIMIT
from bot.loopback_discord.protocol import (
    CB_AUTOCOMPLETE,
    EVERYONE_PERMS,
    ITYPE_AUTOCOMPLETE,
    ITYPE_COMMAND,
    ITYPE_COMPONENT,
)
from bot.loopback_discord.state import WorldState


class Interaction:
    """A person's interaction (slash command, context menu, click, select) and what the bot answered."""

    def __init__(self, server: WorldState, payload: dict[str, Any]) -> None:
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


class Interactions(Gateway):
    """People starting interactions; each returns an :class:`Interaction` to await the bot's answer."""

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
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
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
