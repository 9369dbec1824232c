"""A test stand-in for the page: the playground's HTTP API and its websocket, as the browser uses them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import aiohttp

from bot.playground.app import Playground

Event = dict[str, Any]


class PageClient:
    """Calls the API like the page's JavaScript and records every websocket event."""

    def __init__(self, playground: Playground) -> None:
        self.pg = playground
        self.base = playground.url.rstrip("/")
        self.session = aiohttp.ClientSession()
        self.events: list[Event] = []
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._new = asyncio.Event()

    async def connect(self) -> Event:
        """Open the websocket; returns its first event (the snapshot)."""
        self._ws = await self.session.ws_connect(f"{self.base}/api/events")
        self._reader = asyncio.create_task(self._read())
        return await self.wait_event(lambda e: e["type"] == "hello")

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(msg.json())
                self._new.set()

    async def close(self) -> None:
        """Close the websocket and the HTTP session."""
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self.session.close()

    def mark(self) -> int:
        """The index of the next event, so a wait can skip what came before."""
        return len(self.events)

    async def wait_event(
        self, predicate: Callable[[Event], bool], *, since: int = 0, timeout: float = 10.0
    ) -> Event:
        """The first event from index `since` that satisfies `predicate`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.events[since:]:
                if predicate(event):
                    return event
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                kinds = [e["type"] for e in self.events[since:]]
                raise TimeoutError(f"no matching event within {timeout}s; saw {kinds}")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), min(remaining, 0.5))

    async def bot_message(
        self, *, since: int, channel: str, reply_to: str | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """The next message the bot creates in `channel` (threaded on `reply_to`, if given)."""

        def matches(e: Event) -> bool:
            if e["type"] != "message_create":
                return False
            m = e["message"]
            if not m["author"]["bot"] or m["channel_id"] != channel:
                return False
            return reply_to is None or (m["reply_to"] or {}).get("id") == reply_to

        event = await self.wait_event(matches, since=since, timeout=timeout)
        return dict(event["message"])

    async def call(
        self, method: str, path: str, body: Any = None, *, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body) of an API call."""
        kwargs: dict[str, Any] = {"headers": headers or {}}
        if body is not None:
            kwargs["json"] = body
        async with self.session.request(method, f"{self.base}{path}", **kwargs) as resp:
            return resp.status, await resp.json(content_type=None)

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        """The JSON body of a call that must succeed."""
        status, data = await self.call(method, path, body)
        assert status == 200, (status, data)
        return data


def button_ids(message: dict[str, Any]) -> dict[str, str]:
    """label → custom_id of a page message's buttons."""
    return {
        c.get("label") or "": c["custom_id"]
        for row in message.get("components") or []
        for c in row.get("components") or []
        if c.get("type") == 2 and c.get("custom_id")
    }
