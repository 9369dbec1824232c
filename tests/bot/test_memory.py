"""The bot's memory stays bounded under crafted mentions: each holds ~250 endpoints in 3,990 characters.

An answer's buttons stay live for 10 minutes. When each live view kept its whole explanation, such a
mention pinned about 1 MiB, so a thousand of them took the bot from 56 MiB to over 1 GiB. Measured on
the real process (`python -m bot.cli run` against the loopback Discord), from its resident set size.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.loopback_discord import LoopbackDiscord
from tests.bot.harness import BotProcess, bot_env, replies_to

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

MENTIONS = 150
MIB = 1 << 20


def crafted(seed: int) -> str:
    """3,990 characters or so of distinct private endpoints: one finding, and one answer, each."""
    endpoints: list[str] = []
    size = 0
    while size < 3_960:
        n = len(endpoints)
        endpoint = f"10.{seed % 250}.{n // 250}.{n % 250}:{1024 + n} "
        endpoints.append(endpoint)
        size += len(endpoint)
    return "".join(endpoints)


def memory_of(pid: int) -> tuple[int, int]:
    """(resident set size, its peak) of a process, in bytes, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


async def test_crafted_mentions_leave_the_bot_near_its_starting_memory(tmp_path: Path) -> None:
    async with LoopbackDiscord() as server:
        guild = server.create_guild("Memory")["id"]
        channel = server.create_channel(guild, "general")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        bot = await BotProcess(bot_env(server, tmp_path / "settings.sqlite3", message_content=False)).start()
        try:
            await bot.ready()

            async def ask(seed: int) -> None:
                question = await server.send_message(alice, channel, crafted(seed), mention_bot=True)
                await server.wait_for(lambda: replies_to(server, question["id"]), 30)

            for seed in range(10):  # warm up: caches, the first answers, the allocator's arenas
                await ask(seed)
            before, _ = memory_of(bot.pid)
            for first in range(10, 10 + MENTIONS, 10):
                await asyncio.gather(*(ask(seed) for seed in range(first, first + 10)))
            after, peak = memory_of(bot.pid)
            grown, peak_grown = (after - before) / MIB, (peak - before) / MIB
            # Each answer's view is live (10 minutes, at most 1,000): about 1 MiB each would be 150 MiB.
            assert grown < 40, f"{MENTIONS} crafted mentions grew the bot by {grown:.0f} MiB"
            assert peak_grown < 60, f"the peak was {peak_grown:.0f} MiB above the start"
            buttons = [m for m in server.messages.values() if m["author"]["id"] == server.bot_user["id"]]
            assert len(buttons) >= 10 + MENTIONS and all(m.get("components") for m in buttons)
        finally:
            await bot.stop()
