"""Discord's limits, reproduced for the loopback server: message sizes and the shape of a rate limit.

Real Discord rejects over-limit payloads with HTTP 400 and an "Invalid Form Body" error whose nested
``errors`` object names the offending field.  The bot must never trip these in production, so the loopback
server enforces the same limits and answers with the same shape: a bug that would 400 on discord.com then
also 400s in tests (discord.py turns it into ``discord.HTTPException`` with ``status == 400``).

Rate limits are not counted here; a test asks for one (:meth:`~bot.loopback_discord.LoopbackDiscord.fail_next`
with status 429) and :func:`rate_limited` gives the answer the shape discord.py needs to wait and retry.
"""

from __future__ import annotations

from typing import Any

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TITLE = 256
MAX_EMBED_DESCRIPTION = 4096
MAX_EMBED_FIELDS = 25
MAX_FIELD_NAME = 256
MAX_FIELD_VALUE = 1024
MAX_FOOTER = 2048
MAX_AUTHOR_NAME = 256
MAX_EMBED_TOTAL = 6000
MAX_ACTION_ROWS = 5
MAX_ROW_ITEMS = 5
MAX_SELECT_OPTIONS = 25
MAX_CUSTOM_ID = 100
MAX_BUTTON_LABEL = 80
MAX_CHOICES = 25
MAX_CHOICE_NAME = 100
MAX_CHOICE_VALUE = 100
# Interaction payloads tell the bot how large an upload may be (25 MiB without boosts).
ATTACHMENT_SIZE_LIMIT = 26214400

# Message flag meaning "components v2 layout"; those messages have no action-row limit of 5.
_IS_COMPONENTS_V2 = 1 << 15

Errors = dict[str, Any]


def _too_long(limit: int) -> dict[str, Any]:
    """The leaf error Discord uses for strings and arrays over their limit."""
    return {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": f"Must be {limit} or fewer in length."}]}


def _put(errors: Errors, path: list[str], leaf: dict[str, Any]) -> None:
    """Set ``leaf`` at a nested ``path`` in Discord's error tree (list indices become string keys)."""
    node = errors
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = leaf


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def embed_text_length(embed: dict[str, Any]) -> int:
    """Characters counted towards Discord's 6000-per-message embed total."""
    total = _text_len(embed.get("title")) + _text_len(embed.get("description"))
    total += _text_len((embed.get("footer") or {}).get("text"))
    total += _text_len((embed.get("author") or {}).get("name"))
    for field in embed.get("fields") or []:
        total += _text_len(field.get("name")) + _text_len(field.get("value"))
    return total


def _check_embed(errors: Errors, index: int, embed: dict[str, Any]) -> None:
    base = ["embeds", str(index)]
    for key, limit in (("title", MAX_EMBED_TITLE), ("description", MAX_EMBED_DESCRIPTION)):
        if _text_len(embed.get(key)) > limit:
            _put(errors, [*base, key], _too_long(limit))
    if _text_len((embed.get("footer") or {}).get("text")) > MAX_FOOTER:
        _put(errors, [*base, "footer", "text"], _too_long(MAX_FOOTER))
    if _text_len((embed.get("author") or {}).get("name")) > MAX_AUTHOR_NAME:
        _put(errors, [*base, "author", "name"], _too_long(MAX_AUTHOR_NAME))
    fields = embed.get("fields") or []
    if len(fields) > MAX_EMBED_FIELDS:
        _put(errors, [*base, "fields"], _too_long(MAX_EMBED_FIELDS))
    for i, field in enumerate(fields):
        if _text_len(field.get("name")) > MAX_FIELD_NAME:
            _put(errors, [*base, "fields", str(i), "name"], _too_long(MAX_FIELD_NAME))
        if _text_len(field.get("value")) > MAX_FIELD_VALUE:
            _put(errors, [*base, "fields", str(i), "value"], _too_long(MAX_FIELD_VALUE))
        # Discord requires both; discord.py's add_field always sends them, a hand-built dict may not.
        for key in ("name", "value"):
            if not _text_len(field.get(key)):
                _put(
                    errors,
                    [*base, "fields", str(i), key],
                    {"_errors": [{"code": "BASE_TYPE_REQUIRED", "message": "This field is required"}]},
                )


def _check_components(errors: Errors, components: list[dict[str, Any]], flags: int) -> None:
    if flags & _IS_COMPONENTS_V2:
        return  # v2 layouts have different (looser) rules; not modelled.
    if len(components) > MAX_ACTION_ROWS:
        _put(errors, ["components"], _too_long(MAX_ACTION_ROWS))
    for r, row in enumerate(components):
        items = row.get("components") or []
        if len(items) > MAX_ROW_ITEMS:
            _put(errors, ["components", str(r), "components"], _too_long(MAX_ROW_ITEMS))
        for c, item in enumerate(items):
            path = ["components", str(r), "components", str(c)]
            if _text_len(item.get("custom_id")) > MAX_CUSTOM_ID:
                _put(errors, [*path, "custom_id"], _too_long(MAX_CUSTOM_ID))
            if _text_len(item.get("label")) > MAX_BUTTON_LABEL:
                _put(errors, [*path, "label"], _too_long(MAX_BUTTON_LABEL))
            if len(item.get("options") or []) > MAX_SELECT_OPTIONS:
                _put(errors, [*path, "options"], _too_long(MAX_SELECT_OPTIONS))


def validate_message(payload: dict[str, Any], *, prefix: list[str] | None = None) -> Errors:
    """Return Discord-style nested errors for an outgoing message body (empty dict when valid).

    ``prefix`` nests the errors, e.g. ``["data"]`` for an interaction callback body.
    """
    errors: Errors = {}
    if _text_len(payload.get("content")) > MAX_CONTENT:
        _put(errors, ["content"], _too_long(MAX_CONTENT))
    embeds = payload.get("embeds") or []
    if len(embeds) > MAX_EMBEDS:
        _put(errors, ["embeds"], _too_long(MAX_EMBEDS))
    for i, embed in enumerate(embeds):
        _check_embed(errors, i, embed)
    if sum(embed_text_length(e) for e in embeds) > MAX_EMBED_TOTAL:
        # Discord reports the total on the embeds array itself, merged with any per-embed errors.
        node = errors.setdefault("embeds", {})
        node.setdefault("_errors", []).append(
            {
                "code": "MAX_EMBED_SIZE_EXCEEDED",
                "message": f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}",
            }
        )
    _check_components(errors, payload.get("components") or [], int(payload.get("flags") or 0))
    if errors and prefix:
        for key in reversed(prefix):
            errors = {key: errors}
    return errors


def validate_choices(choices: list[dict[str, Any]]) -> Errors:
    """Errors for an autocomplete (type 8) callback's ``data.choices``."""
    errors: Errors = {}
    if len(choices) > MAX_CHOICES:
        _put(errors, ["data", "choices"], _too_long(MAX_CHOICES))
    for i, choice in enumerate(choices):
        if _text_len(choice.get("name")) > MAX_CHOICE_NAME:
            _put(errors, ["data", "choices", str(i), "name"], _too_long(MAX_CHOICE_NAME))
        value = choice.get("value")
        if isinstance(value, str) and len(value) > MAX_CHOICE_VALUE:
            _put(errors, ["data", "choices", str(i), "value"], _too_long(MAX_CHOICE_VALUE))
    return errors


def invalid_form_body(errors: Errors) -> dict[str, Any]:
    """The JSON body Discord sends with a 400 for validation failures."""
    return {"message": "Invalid Form Body", "code": 50035, "errors": errors}


def rate_limited(retry_after: float, now: float) -> tuple[dict[str, Any], dict[str, str]]:
    """Body and headers of Discord's 429 for a per-route limit that resets ``retry_after`` s after ``now``.

    discord.py sleeps and retries only when the ``X-RateLimit-*`` headers are there and ``Via`` is: a 429
    without ``Via`` is taken for a Cloudflare ban and raised.
    """
    headers = {
        "Retry-After": str(max(1, int(retry_after + 0.999))),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{now + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "loopback-bucket",
        "X-RateLimit-Scope": "user",
        "Via": "1.1 google",
    }
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return body, headers
