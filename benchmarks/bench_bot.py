"""Benchmark: the bot watching a channel in `reply` mode vs bare discord.py clients, same loopback, same run.

    .venv/bin/python benchmarks/bench_bot.py [--rounds 5] [--messages 2000] [--findings 0.25]
                                             [--latency 100] [--memory 0] [--checkpoint 10000]

Three clients, each a real process (started by the e2e tests' `BotProcess`) talking over TCP to its own
instance of the loopback Discord, all instances in this process with the same world:
- netexplain, exactly as `netexplain run`;
- the same-work client (`SAME_WORK_CLIENT`): a bare `discord.Client` that calls the same `explain()` and
  sends the same embeds, without netexplain's plumbing (cogs, settings look-ups, cooldown, linker,
  metrics, buttons). netexplain against it is the target: the plumbing may cost at most 5% throughput
  and 10% p50 latency (issue 14);
- the fixed-string client (`BARE_CLIENT`): a bare `discord.Client` that answers the same messages with a
  fixed string; netexplain against it is printed as information (the core's work included).
All stay up for the whole run and take turns: every round sends the same messages to each (who goes
first rotates) and reports that round's ratios. The machine is shared, so load shifts between rounds;
a round's parts are seconds apart.

The message mix is chat-like: a share `--findings` (default 25%, a help channel someone chose to watch)
are real messages from `tests/data/dev-corpus.jsonl` (every one of them has something to explain); the
rest is ordinary chatter (the core benchmark's `CHATTER`). netexplain answers the messages with findings
with its real compact answers, and so does the same-work client; the fixed-string client answers
exactly the same messages with a fixed string (it is told which texts to answer), so all send the same
number of replies. `--findings 1` answers everything.

- throughput: N messages sent at once; messages handled per second (until the last reply arrived);
- latency: one message with findings at a time; time from MESSAGE_CREATE to the reply arriving;
- memory (`--memory N`, e.g. 100000): RSS at every `--checkpoint` messages. Every message with
  findings names a new endpoint, one in ten of them mentions the bot (a full answer with buttons), and
  the cooldown is on (5 minutes), so the answer map, the live buttons and the cooldown table fill up
  (and the bare clients' discord.py message cache; netexplain keeps none): RSS must level off.
Targets (issue 14), against the same-work client: throughput ≥ 0.95×, latency p50 ≤ 1.10×, memory flat.

The loopback server is part of every figure (it shares this process). It is not Discord: it checks
every message against Discord's limits (the e2e tests rely on that) and that check costs it more for
embeds than for a string. Here it checks only each client's first replies (`CHECKED_REPLIES`, in the
warm-up) and trusts the rest, so its validation is not billed to the bot; everything is still sent.
What is left of its work per message (storing the reply, echoing it on the gateway, answering the
POST) is printed as "server CPU ms/message" and comes out about the same for both clients, so the
server does not tilt the ratios; it does sit on both clients' round trips, as Discord would.

All clients run unmodified at their own defaults: the bare ones are plain `discord.Client` (its
1,000-message cache and Python's garbage-collector settings included); netexplain runs exactly as
`netexplain run` does in production, with its own settings (no message cache, a frozen start-up heap;
see "The bot" in docs/performance.md). Every netexplain answer is its real compact embed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_core import CHATTER  # noqa: E402

from bot.core import explain  # noqa: E402
from bot.kb import load_knowledge  # noqa: E402
from bot.loopback_discord import LoopbackDiscord  # noqa: E402
from tests.bot.harness import BotProcess, bot_env  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "dev-corpus.jsonl"
CHECKED_REPLIES = 50  # per client, the server checks this many replies against Discord's limits

BARE_CLIENT = textwrap.dedent(
    """
    import json, os, discord, yarl
    discord.http.Route.BASE = os.environ["NETEXPLAIN_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["NETEXPLAIN_GATEWAY_URL"])
    with open(os.environ["BENCH_ANSWERED"], encoding="utf-8") as fh:
        ANSWERED = frozenset(json.load(fh))
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
        if message.content not in ANSWERED and not client.user.mentioned_in(message):
            return
        await message.channel.send(
            "fixed reply", reference=message.to_reference(fail_if_not_exists=False), mention_author=False
        )

    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)
    """
)


# The comparison client: a bare discord.py bot doing netexplain's work with none of its plumbing (no
# cogs, settings, cooldown, linker, metrics, buttons). It calls the same `explain()` and sends the same
# embeds: a watched message's compact answer when the core says it triggers, a mention's full answer
# (its embeds, without the buttons' view).
SAME_WORK_CLIENT = textwrap.dedent(
    """
    import os, re, discord, yarl
    from bot.core import explain
    from bot.kb import load_knowledge
    from bot.render import render_compact, render_explanation, render_help
    discord.http.Route.BASE = os.environ["NETEXPLAIN_API_BASE"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ["NETEXPLAIN_GATEWAY_URL"])
    KB = load_knowledge()
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
        if client.user.mentioned_in(message):
            text = re.sub(rf"<@!?{client.user.id}>", " ", message.content).strip()
            explanation = explain(text[:4000], KB)
            embeds = render_explanation(explanation).embeds if explanation.found_anything else [render_help()]
        else:
            explanation = explain(message.content[:4000], KB, passive=True, brief=True)
            if not explanation.triggered:
                return
            embeds = render_compact(explanation).embeds
        await message.channel.send(
            embeds=embeds, reference=message.to_reference(fail_if_not_exists=False), mention_author=False
        )

    client.run(os.environ["DISCORD_TOKEN"], log_handler=None)
    """
)


class CountingLoopback(LoopbackDiscord):
    """The loopback Discord, observed by counting the bot's messages instead of `subscribe()`.

    `subscribe()` deep-copies every event for the observer, which would be charged to the bot being
    measured (more for embeds than for a fixed string). After `CHECKED_REPLIES` replies of its client,
    the bot's messages are no longer checked against Discord's limits (see the module docstring).
    """

    def __init__(self) -> None:
        super().__init__()
        self.bot_messages = 0
        self.changed = asyncio.Event()
        self.checked_until = CHECKED_REPLIES

    def _publish(self, kind: str, **data: Any) -> None:
        if kind == "message_create" and data["message"]["author"]["id"] == self.bot_user["id"]:
            self.bot_messages += 1
            self.changed.set()

    def _validate_outgoing(self, body: dict[str, Any], **kwargs: Any) -> Any:
        if self.bot_messages < self.checked_until:
            return super()._validate_outgoing(body, **kwargs)
        return None

    def trim(self) -> None:
        """Forget old messages, REST calls and delivered gateway events, so this process stays small."""
        for message_id in list(self.messages)[:-100]:
            del self.messages[message_id]
        self.rest_log.clear()
        for session in self._sessions.values():
            # keep the list's length: it is the sequence number; sent events can't be replayed any more
            for i in range(session.sent - 1, -1, -1):
                if session.events[i] is None:
                    break
                session.events[i] = None  # type: ignore[call-overload]


@dataclass(frozen=True)
class Message:
    text: str
    answered: bool
    mention: bool = False  # asked: a full answer with buttons, not a compact unasked one


def message_mix(n: int, findings: float, rng: random.Random, corpus: list[str]) -> list[Message]:
    """`n` chat messages, a share `findings` of them from the corpus; the last one always has findings."""
    out = [
        Message(rng.choice(corpus), True) if rng.random() < findings else Message(rng.choice(CHATTER), False)
        for _ in range(n - 1)
    ]
    return [*out, Message(rng.choice(corpus), True)]


def new_endpoint(k: int) -> str:
    """The `k`-th message of the memory run that has findings: an endpoint nobody mentioned before."""
    host, port = divmod(k, 40_000)
    return f"ECONNREFUSED 10.{host // 250}.{host % 250}.1:{port + 1024}"


def unique_mix(n: int, findings: float, rng: random.Random, start: int) -> list[Message]:
    """Like `message_mix`, but every message with findings names an endpoint never seen before.

    One in ten of those mentions the bot, so full answers (with buttons and an answer link) pile up too.
    """
    out = []
    for i in range(n):
        if rng.random() < findings or i == n - 1:
            out.append(Message(new_endpoint(start + i), True, mention=(start + i) % 10 == 0))
        else:
            out.append(Message(rng.choice(CHATTER), False))
    return out


def load_corpus() -> list[str]:
    """The corpus messages a watching bot answers (the corpus also holds some the core does not yet
    explain, for its recall floors: those would get no reply from any client); chatter must get none."""
    kb = load_knowledge()
    texts = [json.loads(line)["text"] for line in CORPUS.read_text(encoding="utf-8").splitlines() if line]
    answered = [t for t in texts if explain(t, kb, passive=True).triggered]
    assert len(answered) >= len(texts) * 0.8, f"only {len(answered)} of {len(texts)} corpus messages trigger"
    assert not any(explain(t, kb, passive=True).triggered for t in CHATTER), "chatter triggers an answer"
    print(f"dev corpus: {len(answered)} of {len(texts)} messages trigger an answer; those are used")
    return answered


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


@dataclass
class Result:
    rate: float = 0.0
    cpu_ms: float = 0.0
    server_cpu_ms: float = 0.0
    busy: float = 0.0
    p50: float = 0.0
    p95: float = 0.0


class Driver:
    """Sends messages as a person and waits for the bot's replies."""

    def __init__(self, server: CountingLoopback, channel: str, author: str) -> None:
        self.server = server
        self.channel = channel
        self.author = author

    async def _replies(self, target: int, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while self.server.bot_messages < target:
            self.server.changed.clear()
            await asyncio.wait_for(self.server.changed.wait(), max(deadline - time.perf_counter(), 0.01))

    async def burst(self, messages: list[Message]) -> float:
        """Send all messages at once; seconds until every expected reply arrived."""
        target = self.server.bot_messages + sum(m.answered for m in messages)
        start = time.perf_counter()
        for message in messages:
            await self.server.send_message(
                self.author, self.channel, message.text, mention_bot=message.mention
            )
        await self._replies(target, timeout=30 + len(messages) / 20)
        return time.perf_counter() - start

    async def latency(self, messages: list[Message]) -> list[float]:
        """Send answered messages one by one; seconds from send to reply for each."""
        samples = []
        for message in messages:
            target = self.server.bot_messages + 1
            start = time.perf_counter()
            await self.server.send_message(self.author, self.channel, message.text)
            await self._replies(target, timeout=10)
            samples.append(time.perf_counter() - start)
        return samples


async def netexplain_command(
    server: CountingLoopback, admin: str, channel: str, option: dict[str, Any]
) -> None:
    body = await (await server.slash_command(admin, channel, "netexplain", [option])).response()
    assert body["type"] == 4, body


async def set_cooldown(server: CountingLoopback, admin: str, channel: str, minutes: int) -> None:
    option = {"name": "minutes", "type": 4, "value": minutes}
    await netexplain_command(server, admin, channel, {"name": "cooldown", "type": 1, "options": [option]})


async def configure_netexplain(server: CountingLoopback, admin: str, channel: str) -> None:
    """Watch the channel in `reply` mode with no cooldown (the mix repeats its corpus messages)."""
    mode = {"name": "mode", "type": 3, "value": "reply"}
    await netexplain_command(server, admin, channel, {"name": "watch", "type": 1, "options": [mode]})
    add = {"name": "add", "type": 1, "options": []}
    await netexplain_command(server, admin, channel, {"name": "channels", "type": 2, "options": [add]})
    await set_cooldown(server, admin, channel, 0)


class Profiler:
    """`py-spy record` on a process for the length of a `with` block (when --py-spy names the binary)."""

    def __init__(self, py_spy: str | None, pid: int, out: Path) -> None:
        self.args = [
            py_spy,
            "record",
            "-p",
            str(pid),
            "-o",
            str(out),
            "-f",
            "raw",
            "-r",
            "200",
            "--nonblocking",
        ]
        self.enabled = py_spy is not None
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Profiler:
        if self.enabled:
            self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)  # let it attach
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.send_signal(2)  # SIGINT: py-spy writes the profile and exits
            self.proc.wait(30)


class Contender:
    """One client (bare or netexplain) with its own loopback server, both kept up for the whole run."""

    def __init__(self, kind: str, args: argparse.Namespace, workdir: Path) -> None:
        self.kind = kind
        self.args = args
        self.workdir = workdir
        self.server = CountingLoopback()
        self.results: list[Result] = []
        self.rss: list[tuple[int, float]] = []

    async def start(self) -> None:
        server = self.server
        await server.start()
        guild = server.create_guild("bench")["id"]
        self.channel = server.create_channel(guild, "help")["id"]
        self.admin = server.create_user("admin", guild_id=guild, manage_guild=True)["id"]
        author = server.create_user("author", guild_id=guild)["id"]
        self.driver = Driver(server, self.channel, author)
        env = bot_env(server, self.workdir / f"{self.kind}.sqlite3", message_content=True)
        if self.kind == "bare":
            answered = sorted(set(self.args.corpus) | {new_endpoint(k) for k in range(self.args.memory)})
            (self.workdir / "answered.json").write_text(json.dumps(answered), encoding="utf-8")
            env["BENCH_ANSWERED"] = str(self.workdir / "answered.json")
            self.proc = BotProcess(env, argv=["-c", BARE_CLIENT])
        elif self.kind == "same-work":
            self.proc = BotProcess(env, argv=["-c", SAME_WORK_CLIENT])
        else:
            self.proc = BotProcess(env)
        await self.proc.start()
        await self.proc.ready(30)
        if self.kind == "netexplain":
            await configure_netexplain(server, self.admin, self.channel)
        server.checked_until = server.bot_messages + CHECKED_REPLIES
        warm_up = message_mix(300, self.args.findings, random.Random(0), self.args.corpus)
        await self.driver.burst(warm_up)  # imports, caches, the knowledge index
        server.trim()

    async def round(self, mix: list[Message], latency: list[Message], profile: bool) -> Result:
        """One throughput burst and one block of latency samples."""
        pid, result = self.proc.pid, Result()
        cpu_start, server_start = cpu_seconds(pid), time.process_time()
        out = Path(tempfile.gettempdir()) / f"bench-bot-{self.kind}.txt"
        with Profiler(self.args.py_spy if profile else None, pid, out):
            seconds = await self.driver.burst(mix)
        cpu = cpu_seconds(pid) - cpu_start
        result.rate = len(mix) / seconds
        result.cpu_ms = cpu / len(mix) * 1000
        result.server_cpu_ms = (time.process_time() - server_start) / len(mix) * 1000
        result.busy = cpu / seconds
        self.server.trim()
        samples = await self.driver.latency(latency)
        result.p50 = statistics.median(samples)
        result.p95 = statistics.quantiles(samples, n=20)[-1]
        self.results.append(result)
        return result

    async def memory(self) -> None:
        """The memory run: RSS every `--checkpoint` messages."""
        if self.kind == "netexplain":  # every finding is new, so the cooldown table fills up
            await set_cooldown(self.server, self.admin, self.channel, 5)
        rng, done, step = random.Random(self.args.seed), 0, 2000
        self.rss.append((0, rss_mib(self.proc.pid)))
        while done < self.args.memory:
            count = min(step, self.args.memory - done)
            await self.driver.burst(unique_mix(count, self.args.findings, rng, done))
            self.server.trim()
            done += count
            if done % self.args.checkpoint == 0 or done == self.args.memory:
                self.rss.append((done, rss_mib(self.proc.pid)))
                print(f"  {self.kind}: {done:>7} messages, RSS {self.rss[-1][1]:.1f} MiB", flush=True)

    async def stop(self) -> None:
        code = await self.proc.stop()
        await self.server.stop()
        if code not in (0, None, -15):
            print(self.proc.output[-3000:], file=sys.stderr)


def print_round(n: int, bare: Result, same: Result, ours: Result) -> tuple[float, ...]:
    """This round's figures; returns (throughput, p50, p95) ratios of netexplain to the same-work client,
    then the same three to the fixed-string client."""
    print(
        f"round {n}{'':14}{'fixed string':>14}{'same work':>12}{'netexplain':>12}{'ratio':>9}{'vs fixed':>10}"
    )
    rows = (
        ("messages/s (burst)", bare.rate, same.rate, ours.rate, "{:>14.0f}{:>12.0f}{:>12.0f}"),
        ("bot CPU ms/message", bare.cpu_ms, same.cpu_ms, ours.cpu_ms, "{:>14.2f}{:>12.2f}{:>12.2f}"),
        (
            "server CPU ms/message",
            bare.server_cpu_ms,
            same.server_cpu_ms,
            ours.server_cpu_ms,
            "{:>14.2f}{:>12.2f}{:>12.2f}",
        ),
        (
            "latency p50 (ms)",
            bare.p50 * 1000,
            same.p50 * 1000,
            ours.p50 * 1000,
            "{:>14.2f}{:>12.2f}{:>12.2f}",
        ),
        (
            "latency p95 (ms)",
            bare.p95 * 1000,
            same.p95 * 1000,
            ours.p95 * 1000,
            "{:>14.2f}{:>12.2f}{:>12.2f}",
        ),
    )
    for label, b, m, o, form in rows:
        print(f"{label:22}{form.format(b, m, o)}{o / m:>9.2f}{o / b:>10.2f}")
    print(f"{'bot CPU busy (burst)':22}{bare.busy:>14.0%}{same.busy:>12.0%}{ours.busy:>12.0%}")
    return (
        ours.rate / same.rate, ours.p50 / same.p50, ours.p95 / same.p95,
        ours.rate / bare.rate, ours.p50 / bare.p50, ours.p95 / bare.p95,
    )  # fmt: skip


def spread(values: list[float]) -> str:
    """min–max (median)."""
    return f"{min(values):.2f}–{max(values):.2f} (median {statistics.median(values):.2f})"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="bare/netexplain pairs, each one a ratio")
    parser.add_argument("--messages", type=int, default=2000, help="messages in each throughput burst")
    parser.add_argument("--findings", type=float, default=0.25, help="share of messages with findings")
    parser.add_argument("--latency", type=int, default=100, help="latency samples per round")
    parser.add_argument("--memory", type=int, default=0, help="messages for the memory run (0: none)")
    parser.add_argument("--checkpoint", type=int, default=10_000, help="messages between RSS readings")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--py-spy", help="py-spy's path: profile the last round's bursts (stacks in /tmp)")
    args = parser.parse_args()
    args.corpus = load_corpus()
    chatter = f", {1 - args.findings:.0%} chatter" if args.findings < 1 else ""
    print(
        f"{args.rounds} rounds of {args.messages} messages ({args.findings:.0%} with findings from the dev "
        f"corpus{chatter}), then {args.latency} answered messages one by one; "
        f"discord.py {discord.__version__}",
        flush=True,
    )
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        bare = Contender("bare", args, Path(tmp))
        same = Contender("same-work", args, Path(tmp))
        ours = Contender("netexplain", args, Path(tmp))
        contenders = [bare, same, ours]
        try:
            for contender in contenders:
                await contender.start()
            ratios = []
            for n in range(1, args.rounds + 1):
                mix = message_mix(args.messages, args.findings, rng, args.corpus)
                latency = [Message(rng.choice(args.corpus), True) for _ in range(args.latency)]
                order = contenders[n % 3 :] + contenders[: n % 3]  # each goes first in turn
                for contender in order:
                    await contender.round(mix, latency, profile=n == args.rounds)
                ratios.append(print_round(n, bare.results[-1], same.results[-1], ours.results[-1]))
            if args.memory:
                for contender in contenders:
                    await contender.memory()
                for contender in contenders:
                    points = ", ".join(f"{done}: {rss:.1f}" for done, rss in contender.rss)
                    print(f"RSS {contender.kind} (MiB after N memory-run messages): {points}")
        finally:
            for contender in contenders:
                await contender.stop()
    rate, p50, p95, fixed_rate, fixed_p50, fixed_p95 = ([r[i] for r in ratios] for i in range(6))
    print(f"against the same-work discord.py bot, over {len(ratios)} rounds:")
    print(f"  throughput ratio {spread(rate)}; latency p50 ratio {spread(p50)}; p95 ratio {spread(p95)}")
    print("against the fixed-string client (information):")
    print(
        f"  throughput ratio {spread(fixed_rate)}; latency p50 ratio {spread(fixed_p50)}; "
        f"p95 ratio {spread(fixed_p95)}"
    )
    ok = statistics.median(rate) >= 0.95 and statistics.median(p50) <= 1.10
    print(
        "targets against the same work (median of rounds: ≥0.95× throughput, ≤1.10× latency p50):",
        "met" if ok else "NOT met",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
