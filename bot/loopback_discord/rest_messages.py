"""REST routes for the bot's messages and reactions, with Discord's validation.

Creating and editing go through Discord's size limits (:mod:`bot.loopback_discord.limits`, HTTP 400
"Invalid Form Body"), reply references (``fail_if_not_exists``) and ``allowed_mentions``; reads are blanked
by the intents of the latest IDENTIFY, as Discord does.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from bot.loopback_discord.limits import invalid_form_body, validate_message
from bot.loopback_discord.people import People
from bot.loopback_discord.protocol import FLAG_EPHEMERAL, FLAG_LOADING
from bot.loopback_discord.wire import error_response, json_response, no_content, now_iso


class MessageRoutes(People):
    """Handlers for channel messages and reactions, and the edit path webhooks share."""

    def _validate_outgoing(
        self, body: dict[str, Any], *, creating: bool, prefix: list[str] | None = None
    ) -> web.Response | None:
        """A 400 response for an invalid bot message body, else None."""
        errors = validate_message(body, prefix=prefix)
        if errors:
            return error_response(400, **invalid_form_body(errors))
        if creating and not any(
            body.get(k) for k in ("content", "embeds", "components", "attachments", "sticker_ids", "poll")
        ):
            return error_response(400, "Cannot send an empty message", 50006)
        return None

    def _bot_message(
        self,
        channel_id: str,
        body: dict[str, Any],
        *,
        reference: dict[str, Any] | None,
        msg_type: int = 0,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Build, mention-parse and store a message authored by the bot (not yet dispatched)."""
        message = self._new_message(
            channel_id=channel_id,
            author=self.bot_user,
            body=body,
            reference=reference,
            msg_type=msg_type,
            extra=extra,
        )
        allowed = body.get("allowed_mentions")
        if allowed is not None:
            message["allowed_mentions"] = copy.deepcopy(allowed)
        self._parse_mentions(message, allowed, reference["author"]["id"] if reference else None)
        self._store(message)
        return message

    def _resolve_reference(
        self, channel_id: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, web.Response | None]:
        """(referenced message, error response) for a body's ``message_reference``."""
        ref = body.get("message_reference")
        if not ref:
            return None, None
        target = self.messages.get(str(ref.get("message_id")))
        if target is None or target["channel_id"] != str(ref.get("channel_id") or channel_id):
            if ref.get("fail_if_not_exists", True) is False:
                return None, None
            errors = {
                "message_reference": {
                    "_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]
                }
            }
            return None, error_response(400, **invalid_form_body(errors))
        return target, None

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self.channels:
            return error_response(404, "Unknown Channel", 10003)
        body = self._bodies.get(id(request)) or {}
        invalid = self._validate_outgoing(body, creating=True)
        if invalid is not None:
            return invalid
        reference, invalid = self._resolve_reference(channel_id, body)
        if invalid is not None:
            return invalid
        message = self._bot_message(channel_id, body, reference=reference)
        self._dispatch_message("MESSAGE_CREATE", message)
        self._publish("message_create", message=message)
        return json_response(self._as_seen(message, None))

    async def _list_messages(self, request: web.Request) -> web.Response:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self.channels:
            return error_response(404, "Unknown Channel", 10003)
        q = request.query
        limit = max(1, min(100, int(q.get("limit", "50"))))
        found = [m for m in self.channel_messages(channel_id) if not m["flags"] & FLAG_EPHEMERAL]
        if "before" in q:
            found = [m for m in found if int(m["id"]) < int(q["before"])]
        if "after" in q:
            found = [m for m in found if int(m["id"]) > int(q["after"])]
            found = found[:limit]
        found = list(reversed(found))[:limit]  # newest first, as Discord returns them
        return json_response([self._as_seen(m, self._rest_intents) for m in found])

    def _channel_message(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        channel_id = request.match_info["channel_id"]
        if channel_id not in self.channels:
            return None, error_response(404, "Unknown Channel", 10003)
        message = self.messages.get(request.match_info["message_id"])
        if message is None or message["channel_id"] != channel_id:
            return None, error_response(404, "Unknown Message", 10008)
        return message, None

    async def _get_message(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        return json_response(self._as_seen(message, self._rest_intents))

    def _apply_edit(self, message: dict[str, Any], body: dict[str, Any]) -> None:
        if "content" in body:
            message["content"] = body["content"] or ""  # null clears the content
        if body.get("flags") is not None:
            # Ephemerality is fixed at creation; an edit cannot add or remove it.
            message["flags"] = (message["flags"] & FLAG_EPHEMERAL) | (int(body["flags"]) & ~FLAG_EPHEMERAL)
        if "embeds" in body:
            message["embeds"] = [self._normalise_embed(e) for e in body["embeds"] or []]
        if "components" in body:
            message["components"] = self._normalise_components(body["components"] or [])
        if "attachments" in body:
            message["attachments"] = body["attachments"] or []
        if body.get("allowed_mentions") is not None:
            message["allowed_mentions"] = copy.deepcopy(body["allowed_mentions"])
        message["flags"] &= ~FLAG_LOADING
        message["edited_timestamp"] = now_iso()
        ref = message.get("referenced_message")
        self._parse_mentions(message, message.get("allowed_mentions"), ref["author"]["id"] if ref else None)

    async def _edit_message(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        if message["author"]["id"] != self.bot_user["id"]:
            return error_response(403, "Cannot edit a message authored by another user", 50005)
        return self._edit_from_request(message, request)

    def _edit_from_request(self, message: dict[str, Any], request: web.Request) -> web.Response:
        """Apply a REST edit (channel message or webhook message) after Discord's validation."""
        body = self._bodies.get(id(request)) or {}
        invalid = self._validate_outgoing({**message, **body}, creating=False)
        if invalid is not None:
            return invalid
        self._apply_edit(message, body)
        self._dispatch_message("MESSAGE_UPDATE", message)
        self._publish("message_update", message=message)
        return json_response(self._as_seen(message, None))

    async def _delete_message(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        self._delete(message["id"])
        return no_content()

    # ------------------------------------------------------------------ REST handlers: reactions

    async def _put_reaction(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        self._react(self.bot_user["id"], message["id"], request.match_info["emoji"])
        return no_content()

    async def _delete_own_reaction(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        self._unreact(message["id"], [(self.bot_user["id"], request.match_info["emoji"])])
        return no_content()

    async def _delete_user_reaction(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        self._unreact(message["id"], [(request.match_info["user_id"], request.match_info["emoji"])])
        return no_content()

    async def _clear_emoji_reactions(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        emoji = request.match_info["emoji"]
        self._unreact(message["id"], [p for p in self.reactions.get(message["id"], []) if p[1] == emoji])
        return no_content()

    async def _clear_reactions(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        self._unreact(message["id"], list(self.reactions.get(message["id"], [])))
        return no_content()

    async def _get_reactions(self, request: web.Request) -> web.Response:
        message, error = self._channel_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        emoji = request.match_info["emoji"]
        users = [self.users[u] for u, e in self.reactions.get(message["id"], []) if e == emoji]
        return json_response(users)
