"""Fault injection for tests: REST errors and rate limits on demand, dropped and invalidated gateways.

A test asks for the next N calls matching a method and path to fail (:meth:`Faults.fail_next`: 429 with
the headers discord.py needs to retry, 5xx, 403), cuts the gateway cleanly or abruptly so the client
RESUMEs (:meth:`Faults.drop_gateway`), forgets every session so it IDENTIFYs again
(:meth:`Faults.invalidate_sessions`), or sends a malformed event (:meth:`Faults.send_raw_dispatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.loopback_discord.gateway import Gateway
from bot.loopback_discord.limits import rate_limited
from bot.loopback_discord.protocol import OP_INVALID_SESSION
from bot.loopback_discord.wire import error_response, json_response


@dataclass
class Fault:
    """Fail the next ``remaining`` REST calls matching ``method`` and ``pattern`` with ``status``."""

    method: str
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float


class Faults(Gateway):
    """What a test can break, and the REST middleware's check for a pending fault."""

    def fail_next(
        self, method: str, path_regex: str, status: int, count: int = 1, retry_after: float = 0.05
    ) -> None:
        """Make the next ``count`` REST calls matching ``method`` (or ``"*"``) and ``path_regex`` fail.

        ``path_regex`` is searched in the path relative to ``/api/v10``, e.g. ``r"/channels/\\d+/messages$"``.
        429 answers carry ``retry_after``, ``Retry-After``, ``X-RateLimit-*`` and ``Via`` headers, which
        discord.py needs in order to sleep and retry instead of raising.  Note discord.py waits 1 s before
        retrying a 5xx.
        """
        self._faults.append(Fault(method.upper(), re.compile(path_regex), status, count, retry_after))

    async def drop_gateway(self, *, abrupt: bool = False) -> None:
        """Close every gateway websocket so the client reconnects and RESUMEs.

        By default closes with 4000 (a resumable code); ``abrupt=True`` cuts the TCP connection instead,
        which the client sees as an abnormal closure (1006).  Sessions survive, so missed events replay.
        """
        for session in self._sessions.values():
            session.ws = None
        for ws in list(self._sockets):
            transport = self._transports.get(ws)
            if abrupt and transport is not None:
                transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close(code=4000, message=b"loopback drop")

    async def invalidate_sessions(self) -> None:
        """Send INVALID_SESSION (not resumable) to connected clients and forget every session.

        discord.py then reconnects with a fresh IDENTIFY (a new READY and GUILD_CREATEs follow).
        """
        sessions = list(self._sessions.values())
        self._sessions.clear()
        for session in sessions:
            if session.ws is not None and not session.ws.closed:
                with contextlib.suppress(Exception):
                    await session.ws.send_str(json.dumps({"op": OP_INVALID_SESSION, "d": False}))

    async def send_raw_dispatch(self, event: str, data: Any) -> None:
        """Dispatch an arbitrary (possibly malformed) event to every session, unchanged.

        Beware: discord.py does not guard its parsers, so a malformed *known* event (e.g. a MESSAGE_CREATE
        without ``type``) raises out of ``Client.start`` and stops the client; unknown event names are
        logged and ignored.
        """
        self._dispatch_all(event, lambda: data)
        await asyncio.sleep(0)

    def _fault_for(self, method: str, path: str) -> web.Response | None:
        """The injected failure for this call, if one is pending (and count it as used)."""
        for fault in self._faults:
            if fault.remaining <= 0 or fault.method not in ("*", method) or not fault.pattern.search(path):
                continue
            fault.remaining -= 1
            if fault.status == 429:
                body, headers = rate_limited(fault.retry_after, time.time())
                return json_response(body, status=429, headers=headers)
            reasons = {500: "500: Internal Server Error", 502: "502: Bad Gateway", 403: "Missing Permissions"}
            code = 50013 if fault.status == 403 else 0
            return error_response(
                fault.status, reasons.get(fault.status, f"{fault.status}: loopback fault"), code
            )
        self._faults = [f for f in self._faults if f.remaining > 0]
        return None
