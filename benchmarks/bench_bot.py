"""Benchmark: the bot watching a channel in `reply` mode vs a bare discord.py client, same loopback, same run.

    .venv/bin/python benchmarks/bench_bot.py [--messages 3000] [--latency 200] [--memory 20000]

Both bots are real processes talking to the loopback Discord over TCP. Each phase sends messages that
the bot must answer (a different endpoint each time, so no cooldown applies) and waits for the replies:
- throughput: N messages sent at once; messages answered per second;
- latency: one message at a time; time from MESSAGE_CREATE to the reply arriving at the server;
- memory: the bot's RSS after a warm-up and after many more messages.
Targets (issue 3): throughput ≥ 0.8× the bare client's, latency ≤ 1.5×, memory flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.playground.discord_server import LoopbackDiscord
from tests.bot.harness import BotProcess, bot_env

BARE_CLIENT = textwrap.dedent(
    """
    import os, discord, yarl
    discord.http.Route.BASE = os.environ["NETEXPLAIN_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["NETEXPLAIN_GATEWAY_URL"])
    intents = discord.Intents.default()
    intents.message_content = True
    client = discord.Client(
        intents=intents, allowed_mentions=discord.AllowedMentions.none(), guild_ready_timeout=0.1
    )

    @client.event
    async def on_ready():
        print("ready as", client.user, flush=True)

    @client.event
    async def on_message(message):
        if message.author.bot:
            return
        await message.channel.send(
            "fixed reply", reference=message.to_reference(fail_if_not_exists=False), mention_author=False
        )

    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)
    """
)


class BareClient(BotProcess):
    """A bare discord.py client that replies with a fixed string to every message."""

    async def start(self) -> BareClient:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            BARE_CLIENT,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return self


class CountingLoopback(LoopbackDiscord):
    """The loopback Discord, observed by counting the bot's messages instead of `subscribe()`.

    `subscribe()` deep-copies every event for the observer; in this single-threaded process that copy
    would be charged to the bot being measured (more for embeds than for a fixed string).
    """

    def __init__(self) -> None:
        super().__init__()
        self.bot_messages = 0
        self.changed = asyncio.Event()

    def _publish(self, kind: str, **data: Any) -> None:
        if kind == "message_create" and data["message"]["author"]["id"] == self.bot_user["id"]:
            self.bot_messages += 1
            self.changed.set()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """Resident memory of a process in MiB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Bench:
    def __init__(self, server: CountingLoopback, channel: str, author: str) -> None:
        self.server = server
        self.channel = channel
        self.author = author
        self.port = 20000

    def _text(self) -> str:
        self.port = self.port + 1 if self.port < 60000 else 20001
        return f"my server at 127.0.0.1:{self.port} says ECONNREFUSED"

    async def _replies(self, target: int, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while self.server.bot_messages < target:
            self.server.changed.clear()
            await asyncio.wait_for(self.server.changed.wait(), max(deadline - time.perf_counter(), 0.01))

    async def burst(self, n: int) -> float:
        """Send n messages at once; answered messages per second."""
        target = self.server.bot_messages + n
        start = time.perf_counter()
        for _ in range(n):
            await self.server.send_message(self.author, self.channel, self._text())
        await self._replies(target, timeout=30 + n / 20)
        return n / (time.perf_counter() - start)

    async def latency(self, n: int) -> list[float]:
        """Send n messages one by one; seconds from send to reply for each."""
        samples = []
        for _ in range(n):
            target = self.server.bot_messages + 1
            start = time.perf_counter()
            await self.server.send_message(self.author, self.channel, self._text())
            await self._replies(target, timeout=10)
            samples.append(time.perf_counter() - start)
        return samples

    def trim(self) -> None:
        """Forget old messages on the server, so its own memory doesn't grow with the run."""
        for message_id in list(self.server.messages)[:-100]:
            del self.server.messages[message_id]
        self.server.rest_log.clear()


async def measure(kind: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    async with CountingLoopback() as server:
        guild = server.create_guild("bench")["id"]
        channel = server.create_channel(guild, "help")["id"]
        admin = server.create_user("admin", guild_id=guild, manage_guild=True)["id"]
        author = server.create_user("author", guild_id=guild)["id"]
        env = bot_env(server, workdir / f"{kind}.sqlite3", message_content=True)
        proc: BotProcess = await (BareClient(env) if kind == "bare" else BotProcess(env)).start()
        try:
            await proc.ready(30)
            if kind == "netexplain":
                for options in (
                    {"name": "watch", "type": 1, "options": [{"name": "mode", "type": 3, "value": "reply"}]},
                    {"name": "cooldown", "type": 1, "options": [{"name": "minutes", "type": 4, "value": 0}]},
                    {"name": "channels", "type": 2, "options": [{"name": "add", "type": 1, "options": []}]},
                ):
                    await (await server.slash_command(admin, channel, "netexplain", [options])).response()
            bench = Bench(server, channel, author)
            await bench.burst(200)  # warm-up: imports, caches, knowledge index
            bench.trim()
            assert proc.proc is not None
            cpu_start = cpu_seconds(proc.proc.pid)
            wall_start = time.perf_counter()
            rate = await bench.burst(args.messages)
            bot_cpu = (cpu_seconds(proc.proc.pid) - cpu_start) / args.messages
            bot_busy = (cpu_seconds(proc.proc.pid) - cpu_start) / (time.perf_counter() - wall_start)
            bench.trim()
            samples = await bench.latency(args.latency)
            bench.trim()
            assert proc.proc is not None
            rss_before = rss_mib(proc.proc.pid)
            done = 0
            while done < args.memory:
                step = min(2000, args.memory - done)
                await bench.burst(step)
                bench.trim()
                done += step
            rss_after = rss_mib(proc.proc.pid)
            return {
                "rate": rate,
                "cpu_ms": bot_cpu * 1000,
                "busy": bot_busy,
                "p50": statistics.median(samples),
                "p95": statistics.quantiles(samples, n=20)[-1],
                "rss_before": rss_before,
                "rss_after": rss_after,
            }
        finally:
            await proc.stop()


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=3000, help="messages in the throughput burst")
    parser.add_argument("--latency", type=int, default=200, help="messages for the latency samples")
    parser.add_argument("--memory", type=int, default=20000, help="messages between the two RSS readings")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bare = await measure("bare", args, Path(tmp))
        ours = await measure("netexplain", args, Path(tmp))
    print(f"{'':22}{'bare discord.py':>18}{'netexplain':>14}{'ratio':>9}")
    ratio = ours["rate"] / bare["rate"]
    print(f"{'messages/s (burst)':22}{bare['rate']:>18.0f}{ours['rate']:>14.0f}{ratio:>9.2f}")
    ratio = ours["cpu_ms"] / bare["cpu_ms"]
    print(f"{'bot CPU ms/message':22}{bare['cpu_ms']:>18.2f}{ours['cpu_ms']:>14.2f}{ratio:>9.2f}")
    print(f"{'bot CPU busy (burst)':22}{bare['busy']:>18.0%}{ours['busy']:>14.0%}")
    for key, label in (("p50", "latency p50 (ms)"), ("p95", "latency p95 (ms)")):
        ratio = ours[key] / bare[key]
        print(f"{label:22}{bare[key] * 1000:>18.2f}{ours[key] * 1000:>14.2f}{ratio:>9.2f}")
    for who, res in (("bare", bare), ("netexplain", ours)):
        print(
            f"RSS {who}: {res['rss_before']:.1f} MiB → {res['rss_after']:.1f} MiB "
            f"after {args.memory} more messages"
        )
    ok = ours["rate"] >= 0.8 * bare["rate"] and ours["p50"] <= 1.5 * bare["p50"]
    print("targets (≥0.8× throughput, ≤1.5× latency):", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
