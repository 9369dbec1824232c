"""Benchmark: memory and start-up of one bot process as its number of servers grows (for scale-out sizing).

    .venv/bin/python benchmarks/bench_shards.py [--guilds 0,1000,5000] [--shards 1] [--rounds 2]

For each count, a loopback Discord with that many servers (one text channel each, as Discord sends them
without the members intent) and `netexplain run` in a subprocess owning `--shards` shards of the same
count (`NETEXPLAIN_SHARDS=0-<n-1>/<n>`, so it sees every server). Reported: seconds from start to READY
of every shard (`ready as`), and the bot's RSS once ready. The per-1,000-servers figure is the slope
between the smallest and largest count, which is what a process of the 100,000-server design pays.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.loopback_discord import LoopbackDiscord
from tests.bot.harness import BotProcess, bot_env


def rss_mib(pid: int) -> float:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def measure(guilds: int, shards: int, workdir: Path) -> tuple[float, float]:
    """(seconds to READY, RSS MiB) for one bot process seeing `guilds` servers."""
    async with LoopbackDiscord(shard_count=shards) as server:
        for i in range(guilds):
            guild = server.create_guild(f"server {i}")["id"]
            server.create_channel(guild, "general")
        extra = {"NETEXPLAIN_SHARDS": f"0-{shards - 1}/{shards}"} if shards > 1 else {}
        env = bot_env(server, workdir / f"s{guilds}.sqlite3", message_content=True, **extra)
        started = time.perf_counter()
        bot = await BotProcess(env).start()
        try:
            await bot.ready(timeout=600)
            seconds = time.perf_counter() - started
            await asyncio.sleep(1.0)  # let the GUILD_CREATE burst settle
            assert bot.proc is not None
            return seconds, rss_mib(bot.proc.pid)
        finally:
            await bot.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", default="0,1000,5000")
    parser.add_argument("--shards", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    counts = [int(c) for c in args.guilds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        for round_no in range(1, args.rounds + 1):
            results: dict[int, tuple[float, float]] = {}
            for count in counts:
                results[count] = await measure(count, args.shards, Path(tmp))
                seconds, rss = results[count]
                print(
                    f"round {round_no}: {count:>6} servers, {args.shards} shard(s): "
                    f"ready in {seconds:5.1f} s, RSS {rss:6.1f} MiB",
                    flush=True,
                )
            low, high = min(counts), max(counts)
            if high > low:
                slope = (results[high][1] - results[low][1]) / (high - low) * 1000
                print(f"round {round_no}: {slope:.1f} MiB per 1,000 servers", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
