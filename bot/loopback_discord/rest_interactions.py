"""REST routes for the bot's side of interactions: callbacks and the followup webhook.

A callback must fit its interaction type (Discord's 40060 "already acknowledged", 50035 invalid type); a
defer leaves a "thinking" message that the first followup replaces; followups are refused before the
interaction is acknowledged.  ``@original`` and followup messages can be fetched, edited and deleted.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

from bot.loopback_discord.interactions import Interaction, Interactions
from bot.loopback_discord.limits import invalid_form_body, validate_choices
from bot.loopback_discord.protocol import (
    CB_AUTOCOMPLETE,
    CB_DEFER,
    CB_DEFER_UPDATE,
    CB_MESSAGE,
    CB_MODAL,
    CB_UPDATE,
    FLAG_EPHEMERAL,
    FLAG_LOADING,
    ITYPE_AUTOCOMPLETE,
    ITYPE_COMMAND,
    ITYPE_COMPONENT,
)
from bot.loopback_discord.rest_messages import MessageRoutes
from bot.loopback_discord.wire import error_response, json_response, no_content


class InteractionRoutes(MessageRoutes, Interactions):
    """Handlers for ``/interactions/{id}/{token}/callback`` and ``/webhooks/{app}/{token}``."""

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        interaction = self.interactions.get(request.match_info["interaction_id"])
        if interaction is None or interaction.token != request.match_info["token"]:
            return error_response(404, "Unknown interaction", 10062)
        if interaction.callbacks:
            return error_response(400, "Interaction has already been acknowledged.", 40060)
        body = self._bodies.get(id(request)) or {}
        ctype = int(body.get("type", 0))
        data = body.get("data") or {}
        payload = interaction.payload
        itype = payload["type"]
        allowed = {
            ITYPE_COMMAND: {CB_MESSAGE, CB_DEFER, CB_MODAL},
            ITYPE_COMPONENT: {CB_MESSAGE, CB_DEFER, CB_DEFER_UPDATE, CB_UPDATE, CB_MODAL},
            ITYPE_AUTOCOMPLETE: {CB_AUTOCOMPLETE},
        }.get(itype, set())
        if ctype not in allowed:
            return error_response(
                400, f"Interaction callback type {ctype} is not valid for interaction type {itype}", 50035
            )

        if ctype == CB_AUTOCOMPLETE:
            errors = validate_choices(list(data.get("choices") or []))
            if errors:
                return error_response(400, **invalid_form_body(errors))
        if ctype in (CB_MESSAGE, CB_UPDATE):
            invalid = self._validate_outgoing(data, creating=ctype == CB_MESSAGE, prefix=["data"])
            if invalid is not None:
                return invalid

        message: dict[str, Any] | None = None
        result: dict[str, Any] = {"id": interaction.id, "type": itype}
        channel_id = payload["channel_id"]
        metadata = {
            "id": interaction.id,
            "type": itype,
            "user": (payload.get("member") or {}).get("user") or payload.get("user"),
            "authorizing_integration_owners": payload.get("authorizing_integration_owners", {}),
        }
        if payload.get("data", {}).get("name"):
            metadata["name"] = payload["data"]["name"]
        is_command = itype == ITYPE_COMMAND
        msg_type = (23 if payload["data"].get("type", 1) != 1 else 20) if is_command else 0
        extra = {
            "webhook_id": self.application_id,
            "application_id": self.application_id,
            "interaction_metadata": metadata,
        }
        if ctype in (CB_MESSAGE, CB_DEFER):
            flags = int(data.get("flags") or 0)
            if ctype == CB_DEFER:
                # A deferred response is a "thinking" placeholder until the bot edits or follows up.
                data = {"flags": (flags & FLAG_EPHEMERAL) | FLAG_LOADING}
            message = self._bot_message(channel_id, data, reference=None, msg_type=msg_type, extra=extra)
            interaction.original_id = message["id"]
            result.update(
                response_message_id=message["id"],
                response_message_loading=ctype == CB_DEFER,
                response_message_ephemeral=bool(message["flags"] & FLAG_EPHEMERAL),
            )
            self._dispatch_message("MESSAGE_CREATE", message)
            self._publish("message_create", message=message)
        elif ctype in (CB_UPDATE, CB_DEFER_UPDATE) and payload.get("message"):
            target = self.messages.get(payload["message"]["id"])
            if target is not None:
                if ctype == CB_UPDATE:
                    self._apply_edit(target, data)
                    self._dispatch_message("MESSAGE_UPDATE", target)
                    self._publish("message_update", message=target)
                message = target
                result.update(
                    response_message_id=target["id"],
                    response_message_loading=False,
                    response_message_ephemeral=bool(target["flags"] & FLAG_EPHEMERAL),
                )

        interaction.callbacks.append(copy.deepcopy(body))
        if not interaction._responded.done():
            interaction._responded.set_result(copy.deepcopy(body))
        self._publish("interaction_response", interaction_id=interaction.id, response=body)
        resource: dict[str, Any] = {"type": ctype}
        if message is not None and ctype in (CB_MESSAGE, CB_DEFER, CB_UPDATE):
            resource["message"] = self._as_seen(message, None)
        return json_response({"interaction": result, "resource": resource})

    def _interaction_by_token(self, request: web.Request) -> Interaction | None:
        if request.match_info["app_id"] != self.application_id:
            return None
        token = request.match_info["token"]
        return next((i for i in self.interactions.values() if i.token == token), None)

    async def _webhook_execute(self, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request)
        if interaction is None:
            return error_response(404, "Unknown Webhook", 10015)
        if not interaction.callbacks:
            # Discord refuses followups before the interaction has been acknowledged.
            return error_response(404, "Unknown Webhook", 10015)
        body = self._bodies.get(id(request)) or {}
        invalid = self._validate_outgoing(body, creating=True)
        if invalid is not None:
            return invalid
        original = interaction.original
        if original is not None and original["flags"] & FLAG_LOADING:
            # After a defer, the first followup replaces the "thinking" message (Discord behaviour); it keeps
            # the ephemerality chosen at defer time.
            edit = {k: v for k, v in body.items() if k != "flags"}
            self._apply_edit(original, edit)
            original["edited_timestamp"] = None
            message = original
            self._dispatch_message("MESSAGE_UPDATE", message)
            self._publish("message_update", message=message)
        else:
            payload = interaction.payload
            extra = {
                "webhook_id": self.application_id,
                "application_id": self.application_id,
                "interaction_metadata": {"id": interaction.id, "type": payload["type"]},
            }
            message = self._bot_message(payload["channel_id"], body, reference=None, extra=extra)
            self._followups.setdefault(interaction.token, []).append(message["id"])
            self._dispatch_message("MESSAGE_CREATE", message)
            self._publish("message_create", message=message)
        if request.query.get("wait") in ("1", "true", "True"):
            return json_response(self._as_seen(message, None))
        return no_content()

    def _webhook_message(self, request: web.Request) -> tuple[dict[str, Any] | None, web.Response | None]:
        interaction = self._interaction_by_token(request)
        if interaction is None:
            return None, error_response(404, "Unknown Webhook", 10015)
        mid = request.match_info["message_id"]
        if mid == "@original":
            message = interaction.original
        elif mid in self._followups.get(interaction.token, []) or mid == interaction.original_id:
            message = self.messages.get(mid)
        else:
            message = None
        if message is None:
            return None, error_response(404, "Unknown Message", 10008)
        return message, None

    async def _webhook_get(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        return json_response(self._as_seen(message, None))

    async def _webhook_edit(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        return self._edit_from_request(message, request)

    async def _webhook_delete(self, request: web.Request) -> web.Response:
        message, error = self._webhook_message(request)
        if message is None:
            return error or error_response(404, "Unknown Message", 10008)
        self._delete(message["id"])
        return no_content()
