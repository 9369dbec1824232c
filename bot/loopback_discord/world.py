"""Building the loopback Discord's world: guilds, channels, people, DM channels.

Each builder updates the state and dispatches what Discord would (GUILD_CREATE, CHANNEL_CREATE,
GUILD_MEMBER_ADD, GUILD_ROLE_CREATE) to a bot that is already connected, so a world can be built before
or after the bot logs in.
"""

from __future__ import annotations

import copy
from typing import Any

from bot.loopback_discord.gateway import Gateway
from bot.loopback_discord.protocol import (
    BOT_ROLE_PERMS,
    EVERYONE_PERMS,
    INTENT_GUILD_MEMBERS,
    PERM_MANAGE_GUILD,
    PERM_MENTION_EVERYONE,
)


class World(Gateway):
    """World building, for tests and the playground page."""

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
