"""How a message looks: built like Discord builds it, mention-parsed, and as seen by the bot.

Owns message construction (ids, references, normalised embeds and components), Discord's mention rules
with ``allowed_mentions`` (who would really be pinged, kept in the private ``pinged`` key), and the
MESSAGE_CONTENT rule that blanks what a bot without the intent may not read.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

from bot.loopback_discord.protocol import (
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MESSAGES,
    INTENT_MESSAGE_CONTENT,
)
from bot.loopback_discord.state import WorldState
from bot.loopback_discord.wire import now_iso

_MENTION_USER = re.compile(r"<@!?(\d+)>")
_MENTION_ROLE = re.compile(r"<@&(\d+)>")

# Keys kept on stored messages for tests but never sent to the bot.
_PRIVATE_KEYS = ("pinged", "allowed_mentions")


class Messages(WorldState):
    """Building messages and deciding what of them the bot sees."""

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
            "timestamp": now_iso(),
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
