"""The real bot in a subprocess, operated: health, metrics, graceful shutdown, logs, shards + PostgreSQL."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from bot.loopback_discord import LoopbackDiscord
from tests.bot.harness import BotProcess, bot_env, embed_text, replies_to
from tests.deploy.ops import free_port, guild_on_shard, healthz, metric, scrape, wait_healthy

pytestmark = pytest.mark.e2e


async def test_health_and_metrics_follow_what_the_bot_does(tmp_path: Path) -> None:
    port = free_port()
    async with LoopbackDiscord() as server:
        guild = server.create_guild()["id"]
        channel = server.create_channel(guild, "help")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, NETEXPLAIN_HEALTH_PORT=str(port))
        bot = await BotProcess(env).start()
        try:
            await bot.ready()
            body = await wait_healthy(port)
            assert body["status"] == "ok"
            assert {name: check["ok"] for name, check in body["checks"].items()} == {
                "gateway": True,
                "database": True,
                "knowledge": True,
            }
            before = await scrape(port)
            assert metric(before, "netexplain_answers_total", entry_point="mention") == 0
            assert metric(before, "netexplain_gateway_connected") == 1

            question = await server.send_message(
                alice, channel, "why ECONNREFUSED 127.0.0.1:5432", mention_bot=True
            )
            await server.wait_for(lambda: replies_to(server, question["id"]))
            await server.send_message(alice, channel, "just chatting")
            after = await scrape(port)
            assert metric(after, "netexplain_messages_seen_total") >= 2
            assert metric(after, "netexplain_answers_total", entry_point="mention") == 1
            assert metric(after, "netexplain_findings_total", kind="error") >= 1
            assert metric(after, "netexplain_answer_latency_seconds_count", entry_point="mention") == 1
            assert (
                metric(after, "netexplain_answer_latency_seconds_bucket", entry_point="mention", le="+Inf")
                == 1
            )
            assert metric(after, "netexplain_errors_total", where="event") == 0

            await server.drop_gateway()
            await server.wait_for(lambda: server.resumes >= 1, timeout=15)
            await wait_healthy(port)
            reconnected = await scrape(port)
            assert metric(reconnected, "netexplain_gateway_reconnects_total") >= 1
            assert metric(reconnected, "netexplain_gateway_disconnects_total") >= 1
        finally:
            assert await bot.stop() == 0


async def test_without_a_health_port_nothing_listens(tmp_path: Path) -> None:
    async with LoopbackDiscord() as server:
        bot = await BotProcess(bot_env(server, tmp_path / "s.sqlite3", message_content=False)).start()
        try:
            await bot.ready()
            assert "health and metrics on" not in bot.output
        finally:
            assert await bot.stop() == 0


async def test_a_taken_health_port_is_one_sentence(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        async with LoopbackDiscord() as server:
            env = bot_env(
                server, tmp_path / "s.sqlite3", message_content=False, NETEXPLAIN_HEALTH_PORT=str(port)
            )
            bot = await BotProcess(env).start()
            assert await bot.wait() != 0
    lines = [line for line in bot.lines if line.startswith("netexplain: ")]
    assert "Traceback" not in bot.output
    assert len(lines) == 1 and "NETEXPLAIN_HEALTH_PORT" in lines[0], bot.output


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_signal_finishes_answers_in_flight_and_takes_no_new_ones(tmp_path: Path, sig: int) -> None:
    port = free_port()
    async with LoopbackDiscord() as server:
        guild = server.create_guild()["id"]
        channel = server.create_channel(guild, "help")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, NETEXPLAIN_HEALTH_PORT=str(port))
        bot = await BotProcess(env).start()
        await bot.ready()
        # The answer's first POST is rate limited for 1.5 s: it is in flight when the signal arrives.
        server.fail_next("POST", r"/channels/\d+/messages$", 429, retry_after=1.5)
        first = await server.send_message(alice, channel, "127.0.0.1:62893?", mention_bot=True)
        await server.wait_for(
            lambda: any(c.method == "POST" and c.status == 429 for c in server.rest_log), timeout=10
        )
        assert bot.proc is not None
        bot.proc.send_signal(sig)
        await bot.wait_for_line("stopping on a signal")
        status, body = await healthz(port)  # still serving while draining, and saying so
        assert status == 503 and body["checks"]["gateway"]["detail"] == "shutting down"
        late = await server.send_message(alice, channel, "and [::1]:8080?", mention_bot=True)

        assert await bot.wait(20) == 0
        answered = replies_to(server, first["id"])
        assert len(answered) == 1 and "62893" in embed_text(answered[0])
        assert replies_to(server, late["id"]) == []
        assert "stopped: gateway and settings database closed" in bot.output
        assert "Traceback" not in bot.output


async def test_logs_are_json_without_token_or_message_text(tmp_path: Path) -> None:
    async with LoopbackDiscord(token="tok-3f9a1c-never-log-me") as server:
        guild = server.create_guild()["id"]
        channel = server.create_channel(guild, "help")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        secret_text = "zebra-7741 cannot reach 127.0.0.1:5432"

        async def run(content_on: bool) -> BotProcess:
            env = bot_env(
                server,
                tmp_path / "s.sqlite3",
                message_content=True,
                NETEXPLAIN_LOG_LEVEL="DEBUG",  # discord.py dumps gateway events and HTTP bodies at DEBUG
                NETEXPLAIN_LOG_FORMAT="json",
                NETEXPLAIN_LOG_CONTENT="1" if content_on else "0",
            )
            bot = await BotProcess(env).start()
            try:
                await bot.ready()
                question = await server.send_message(alice, channel, secret_text, mention_bot=True)
                await server.wait_for(lambda: replies_to(server, question["id"]))
            finally:
                assert await bot.stop() == 0
            return bot

        quiet = await run(content_on=False)
        assert server.token not in quiet.output
        assert "zebra-7741" not in quiet.output
        records = [json.loads(line) for line in quiet.lines if line.startswith("{")]
        assert len(records) == len([line for line in quiet.lines if line.strip()]), "every line is JSON"
        assert {"time", "level", "logger", "message"} <= set(records[0])
        assert any(r["level"] == "DEBUG" and "content hidden" in r["message"] for r in records)

        # The same run with content logging on does show the text: the check above can fail.
        loud = await run(content_on=True)
        assert "zebra-7741" in loud.output
        assert server.token not in loud.output


async def test_two_processes_split_the_shards_and_share_settings_in_postgresql(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with LoopbackDiscord(shard_count=2) as server:
        guilds = [guild_on_shard(server, 0, 2), guild_on_shard(server, 1, 2)]
        channels = [server.create_channel(g, "help")["id"] for g in guilds]
        admins = [
            server.create_user(f"admin{i}", guild_id=g, manage_guild=True)["id"] for i, g in enumerate(guilds)
        ]
        users = [server.create_user(f"user{i}", guild_id=g)["id"] for i, g in enumerate(guilds)]
        ports = [free_port(), free_port()]

        def env(shards: str, port: int) -> dict[str, str]:
            return bot_env(
                server,
                tmp_path / "unused.sqlite3",
                message_content=True,
                NETEXPLAIN_DB=pg_dsn,
                NETEXPLAIN_SHARDS=shards,
                NETEXPLAIN_HEALTH_PORT=str(port),
            )

        first = await BotProcess(env("0/2", ports[0])).start()
        second = await BotProcess(env("1-1/2", ports[1])).start()
        try:
            await first.ready()
            await second.ready()
            await wait_healthy(ports[0])
            await wait_healthy(ports[1])
            assert sorted(tuple(p["shard"]) for p in server.identify_payloads) == [(0, 2), (1, 2)]
            # Each server's admin turns on watching through whichever process owns that server.
            for admin, channel in zip(admins, channels, strict=True):
                for options in (
                    {"name": "watch", "type": 1, "options": [{"name": "mode", "type": 3, "value": "reply"}]},
                    {"name": "channels", "type": 2, "options": [{"name": "add", "type": 1, "options": []}]},
                ):
                    await (await server.slash_command(admin, channel, "netexplain", [options])).response()
            for user, channel in zip(users, channels, strict=True):
                message = await server.send_message(user, channel, "why is 127.0.0.1:62893 refusing")
                (reply,) = await server.wait_for(lambda m=message: replies_to(server, m["id"]))
                assert "62893" in embed_text(reply)
            # Each process saw and answered only its own shard's server.
            for shard, port in enumerate(ports):
                samples = await scrape(port)
                assert metric(samples, "netexplain_answers_total", entry_point="watch_reply") == 1
                assert metric(samples, "netexplain_messages_seen_total") == 1
                on_shard = [g for g in server.guilds if (int(g) >> 22) % 2 == shard]
                assert metric(samples, "netexplain_guilds") == len(on_shard) >= 1
        finally:
            assert await first.stop() == 0
            assert await second.stop() == 0

        # One process taking both shards finds both servers' settings in PostgreSQL.
        both = await BotProcess(env("0-1/2", ports[0])).start()
        try:
            await both.ready()
            await wait_healthy(ports[0])
            for user, channel in zip(users, channels, strict=True):
                message = await server.send_message(user, channel, "ECONNREFUSED ::1:5432 again")
                await server.wait_for(lambda m=message: replies_to(server, m["id"]))
            samples = await scrape(ports[0])
            assert metric(samples, "netexplain_shards") == 2
            assert metric(samples, "netexplain_answers_total", entry_point="watch_reply") == 2
        finally:
            assert await both.stop() == 0


async def test_sharded_start_up_failures_are_one_sentence(tmp_path: Path) -> None:
    async with LoopbackDiscord(shard_count=2) as server:
        env = bot_env(
            server,
            tmp_path / "s.sqlite3",
            message_content=False,
            DISCORD_TOKEN="wrong",
            NETEXPLAIN_SHARDS="0-1/2",
        )
        rejected = await BotProcess(env).start()
        assert await rejected.wait() != 0
        dead = free_port()
        env = bot_env(
            server,
            tmp_path / "s.sqlite3",
            message_content=False,
            NETEXPLAIN_SHARDS="0-1/2",
            NETEXPLAIN_GATEWAY_URL=f"ws://127.0.0.1:{dead}/gateway",
            NETEXPLAIN_CONNECT_TIMEOUT="3",
        )
        unreachable = await BotProcess(env).start()
        assert await unreachable.wait() != 0
    for bot, words in (
        (rejected, "rejected the token"),
        (unreachable, "Could not connect to the Discord gateway"),
    ):
        assert "Traceback" not in bot.output, bot.output
        lines = [line for line in bot.lines if line.startswith("netexplain: ")]
        assert len(lines) == 1 and words in lines[0], bot.output


async def test_an_unreachable_postgresql_is_one_sentence_without_the_password(tmp_path: Path) -> None:
    async with LoopbackDiscord() as server:
        url = f"postgresql://bot:pw-9931@127.0.0.1:{free_port()}/netexplain"
        bot = await BotProcess(
            bot_env(server, tmp_path / "unused", message_content=False, NETEXPLAIN_DB=url)
        ).start()
        assert await bot.wait() != 0
    assert "Traceback" not in bot.output and "pw-9931" not in bot.output
    lines = [line for line in bot.lines if line.startswith("netexplain: ")]
    assert len(lines) == 1, bot.output
    assert "settings database at postgresql://bot@127.0.0.1:" in lines[0] and lines[0].endswith("."), lines[0]
