"""Fixtures running a real discord.py client against the loopback Discord server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import discord
import pytest

from bot.loopback_discord import LoopbackDiscord, point_discord_py_at

# Intents.default() lacks MESSAGE_CONTENT: the blanking rules apply unless a test opts in.
ClientFactory = Callable[..., Awaitable[Any]]


@pytest.fixture
async def server() -> AsyncIterator[LoopbackDiscord]:
    """A started loopback server with discord.py pointed at it (restored afterwards)."""
    srv = LoopbackDiscord()
    await srv.start()
    restore = point_discord_py_at(srv.api_base, srv.gateway_url)
    try:
        yield srv
    finally:
        restore()
        await srv.stop()


@pytest.fixture
def world(server: LoopbackDiscord) -> dict[str, Any]:
    """A guild with one channel, a plain member and a moderator, created before the bot connects."""
    guild = server.create_guild("Networking Help")
    channel = server.create_channel(guild["id"], "help")
    alice = server.create_user("alice", guild_id=guild["id"])
    mod = server.create_user("mod", guild_id=guild["id"], manage_guild=True)
    return {"guild": guild, "channel": channel, "alice": alice, "mod": mod}


@pytest.fixture
async def run_client(server: LoopbackDiscord) -> AsyncIterator[ClientFactory]:
    """Start a client built by the test, wait for ``on_ready``; every started client is closed at teardown."""
    started: list[tuple[discord.Client, asyncio.Task[None]]] = []

    async def start(
        client: discord.Client, *, wait_ready: bool = True, token: str | None = None
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(client.start(token or server.token))
        started.append((client, task))
        if wait_ready:
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait({ready, task}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            if task in done:
                ready.cancel()
                task.result()  # re-raise the startup failure
            if ready not in done:
                ready.cancel()
                raise TimeoutError("client did not become ready within 5 s")
        return task

    yield start
    for client, task in started:
        await client.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 2)
