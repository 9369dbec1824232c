"""People acting in the loopback Discord: posting, editing and deleting messages, reacting.

Each action updates the state, dispatches the gateway event the bot would receive (MESSAGE_CREATE,
MESSAGE_UPDATE, MESSAGE_DELETE, MESSAGE_REACTION_ADD/REMOVE, under the intents Discord requires) and
publishes it to subscribers.  The bot's own reactions and deletions (REST) go through the same code.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable
from typing import Any

from bot.loopback_discord.protocol import (
    FLAG_EPHEMERAL,
    INTENT_DIRECT_MESSAGE_REACTIONS,
    INTENT_GUILD_MESSAGE_REACTIONS,
)
from bot.loopback_discord.wire import now_iso
from bot.loopback_discord.world import World


def _const(value: Any) -> Callable[[], Any]:
    """A zero-argument function returning ``value`` (binds it now, unlike a lambda in a loop)."""
    return lambda: value


class People(World):
    """Messages and reactions by people (and the shared paths the bot's REST calls reuse)."""

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
        message["edited_timestamp"] = now_iso()
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
