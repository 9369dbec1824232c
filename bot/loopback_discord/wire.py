"""How the loopback Discord reads requests and shapes answers the way discord.py expects them.

Owns the JSON response (with the exact ``Content-Type`` discord.py compares), Discord's error body, the
request body reader (JSON or multipart with ``payload_json``), timestamps, and :class:`RestCall`, one
recorded REST request.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web


def now_iso() -> str:
    """Now as Discord writes timestamps (ISO 8601, UTC)."""
    return datetime.datetime.now(datetime.UTC).isoformat()


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON response with ``Content-Type`` exactly ``application/json``.

    discord.py's ``json_or_text`` compares the header for equality, so aiohttp's ``json_response`` (which
    appends ``; charset=utf-8``) would make it treat the body as text.
    """
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def error_response(status: int, message: str, code: int = 0, **extra: Any) -> web.Response:
    """Discord's error body: ``{"message", "code", ...}`` with ``status``."""
    return json_response({"message": message, "code": code, **extra}, status=status)


def no_content() -> web.Response:
    """An empty 204, as Discord answers deletes and reactions."""
    return web.Response(status=204)


@dataclass
class RestCall:
    """One REST request the bot made, as recorded by the server."""

    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any
    status: int = 0


async def read_body(request: web.Request) -> Any:
    """JSON body, or for multipart the ``payload_json`` part plus ``attachments`` built from files."""
    if not request.can_read_body:
        return None
    ctype = request.content_type
    if ctype.startswith("multipart/"):
        payload: dict[str, Any] = {}
        files: list[dict[str, Any]] = []
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader):
                continue
            if part.name == "payload_json":
                payload = json.loads(await part.text())
            else:
                data = await part.read()
                files.append({"filename": part.filename or part.name or "file", "size": len(data)})
        if files:
            attachments = []
            for i, f in enumerate(files):
                meta = (
                    (payload.get("attachments") or [{}] * len(files))[i] if payload.get("attachments") else {}
                )
                attachments.append(
                    {
                        "id": str(10_000 + i),
                        "filename": f["filename"],
                        "size": f["size"],
                        "url": f"http://loopback.invalid/attachments/{f['filename']}",
                        "proxy_url": f"http://loopback.invalid/attachments/{f['filename']}",
                        "description": meta.get("description"),
                    }
                )
            payload["attachments"] = attachments
        return payload
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
