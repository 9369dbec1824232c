"""Scale-out, operated: Discord's shard count, exit codes for what a restart can't fix, and two bot
processes sharing one PostgreSQL that coordinates their ranges and identifies."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import sys
from asyncio.subprocess import DEVNULL
from pathlib import Path
from typing import Any

import pytest

from bot.loopback_discord import LoopbackDiscord
from bot.runner import EXIT_CONFIG, EXIT_INTENTS, EXIT_SCHEMA, EXIT_SESSION_LIMIT, EXIT_SHARDS, EXIT_TOKEN
from bot.shards import IDENTIFY_INTERVAL
from bot.store import SCHEMA_VERSION, PostgresSettingsStore
from tests.bot.harness import BotProcess, bot_env, embed_text, replies_to
from tests.deploy.ops import free_port, guild_on_shard, metric, probe_json, scrape, wait_healthy
from tests.deploy.test_deploy_files import dockerfile_instructions

pytestmark = pytest.mark.e2e


def one_sentence(bot: BotProcess, *words: str) -> str:
    """The single `netexplain: ...` line of a failed start, checked for `words` and no traceback."""
    assert "Traceback" not in bot.output, bot.output
    lines = [line for line in bot.lines if line.startswith("netexplain: ")]
    assert len(lines) == 1, bot.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


async def test_without_netexplain_shards_the_bot_opens_discords_recommended_count(tmp_path: Path) -> None:
    port = free_port()
    # Each shard's guilds fit one shard, all of them don't: one connection would be closed with 4011.
    async with LoopbackDiscord(shard_count=2, max_concurrency=2, enforce_identify_rate=True) as server:
        guilds = [guild_on_shard(server, 0, 2), guild_on_shard(server, 1, 2)]
        server.guilds_per_shard = max(
            sum(1 for g in server.guilds if (int(g) >> 22) % 2 == s) for s in (0, 1)
        )
        assert len(server.guilds) > server.guilds_per_shard
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, NETEXPLAIN_HEALTH_PORT=str(port))
        bot = await BotProcess(env).start()
        try:
            await bot.ready()
            body = await wait_healthy(port)
            assert body["checks"]["gateway"]["ok"] and body["checks"]["database"]["ok"]
            assert sorted(tuple(p["shard"]) for p in server.identify_payloads) == [(0, 2), (1, 2)]
            assert server.identifies_too_fast == 0  # two buckets: both identified at once, legally
            assert "Discord recommends 2 shards" in bot.output
            samples = await scrape(port)
            assert (
                metric(samples, "netexplain_shards") == 2 and metric(samples, "netexplain_shard_count") == 2
            )
            for shard in ("0", "1"):
                assert metric(samples, "netexplain_shard_connected", shard=shard) == 1
                assert metric(samples, "netexplain_gateway_identifies_total", shard=shard) == 1
            assert metric(samples, "netexplain_session_starts_remaining") == 998
            assert metric(samples, "netexplain_guilds") == len(server.guilds)
            for shard in (0, 1):
                on_shard = sum(1 for g in server.guilds if (int(g) >> 22) % 2 == shard)
                assert metric(samples, "netexplain_shard_guilds", shard=str(shard)) == on_shard
            assert await probe_json(port, "livez") == (200, {"status": "ok"})
            alice = server.create_user("alice", guild_id=guilds[1])["id"]
            channel = server.create_channel(guilds[1], "help")["id"]
            assert metric(samples, "netexplain_rate_limit_hits_total", scope="user") == 0
            server.fail_next("POST", r"/channels/\d+/messages$", 429, retry_after=0.3)
            question = await server.send_message(
                alice, channel, "why ECONNREFUSED ::1:5432", mention_bot=True
            )
            await server.wait_for(lambda: replies_to(server, question["id"]))  # discord.py waited, retried
            assert metric(await scrape(port), "netexplain_rate_limit_hits_total", scope="user") == 1

            await server.drop_gateway()  # a reconnect: not ready for a moment, never not alive
            assert (await probe_json(port, "livez"))[0] == 200
            await wait_healthy(port)
        finally:
            assert await bot.stop() == 0

        # One shard named explicitly for all three guilds: Discord's 4011, which no restart fixes.
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, NETEXPLAIN_SHARDS="0/1")
        single = await BotProcess(env).start()
        assert await single.wait(30) == EXIT_SHARDS
        one_sentence(single, "requires more shards", "NETEXPLAIN_SHARDS")


async def test_failures_a_restart_cannot_fix_have_their_own_exit_codes(tmp_path: Path) -> None:
    async with LoopbackDiscord(privileged_intents_allowed=False) as server:
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, DISCORD_TOKEN="wrong")
        rejected = await BotProcess(env).start()
        assert await rejected.wait() == EXIT_TOKEN
        one_sentence(rejected, "rejected the token")

        refused = await BotProcess(bot_env(server, tmp_path / "s.sqlite3", message_content=True)).start()
        assert await refused.wait() == EXIT_INTENTS
        one_sentence(refused, "message-content intent")

        newer = tmp_path / "newer.sqlite3"
        with sqlite3.connect(newer) as conn:
            conn.execute("CREATE TABLE netexplain_meta (id INTEGER PRIMARY KEY, schema_version INTEGER)")
            conn.execute("INSERT INTO netexplain_meta VALUES (1, ?)", (SCHEMA_VERSION + 1,))
        calls = len(server.rest_log)
        schema = await BotProcess(bot_env(server, newer, message_content=False)).start()
        assert await schema.wait() == EXIT_SCHEMA
        one_sentence(schema, f"schema version {SCHEMA_VERSION + 1}", "upgrade netexplain")
        assert len(server.rest_log) == calls, "the database is checked before anything talks to Discord"

    async with LoopbackDiscord(session_start_limit=5) as server:  # 5 left, 5 kept in reserve
        low = await BotProcess(bot_env(server, tmp_path / "s.sqlite3", message_content=False)).start()
        assert await low.wait() == EXIT_SESSION_LIMIT
        one_sentence(low, "Only 5 of Discord's 5 daily session starts are left")
        assert server.identify_log == [] and server.session_starts_remaining == 5


async def test_the_token_can_come_from_a_file_instead_of_the_environment(tmp_path: Path) -> None:
    async with LoopbackDiscord() as server:
        token_file = tmp_path / "discord-token"
        token_file.write_text(server.token + "\n")  # as `systemd-creds` or a secrets file holds it
        env = bot_env(
            server, tmp_path / "s.sqlite3", message_content=False, DISCORD_TOKEN_FILE=str(token_file)
        )
        del env["DISCORD_TOKEN"]
        bot = await BotProcess(env).start()
        await bot.ready()
        assert await bot.stop() == 0
        assert server.token not in bot.output
        env["DISCORD_TOKEN"] = server.token
        both = await BotProcess(env).start()
        assert await both.wait() == EXIT_CONFIG
        one_sentence(both, "DISCORD_TOKEN or DISCORD_TOKEN_FILE, not both")


async def test_a_bot_asked_to_identify_again_stops_before_the_session_start_reserve(tmp_path: Path) -> None:
    # 7 starts: the first identify leaves 6, one more leaves 5 (the reserve); the third would not.
    async with LoopbackDiscord(session_start_limit=7) as server:
        bot = await BotProcess(bot_env(server, tmp_path / "s.sqlite3", message_content=False)).start()
        await bot.ready()
        await server.invalidate_sessions()  # not resumable: identify again
        await server.wait_for(lambda: len(server.identify_log) == 2, timeout=20)
        await server.invalidate_sessions()
        assert await bot.wait(30) == EXIT_SESSION_LIMIT
        one_sentence(bot, "Only 5 of Discord's 7 daily session starts are left", "1 would be needed")
        assert len(server.identify_log) == 2 and server.session_starts_remaining == 5


async def test_tini_in_the_image_leaves_a_fatal_exit_stopped_and_a_failure_restartable(
    tmp_path: Path,
) -> None:
    tini = shutil.which("tini")
    if tini is None:
        pytest.skip("tini is not installed (apt-get install tini; the image installs it)")
    image = next(args for word, args in reversed(dockerfile_instructions()) if word == "ENTRYPOINT")
    entrypoint = json.loads(image)
    assert entrypoint[0] == "tini" and entrypoint[-1] == "netexplain"
    # The image's ENTRYPOINT, with this Python standing in for the image's `netexplain`.
    argv = [tini, *entrypoint[1:-1], sys.executable, "-m", "bot.cli", "run"]
    async with LoopbackDiscord() as server:
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, DISCORD_TOKEN="wrong")
        fatal = await asyncio.create_subprocess_exec(*argv, env=env, stdout=DEVNULL, stderr=DEVNULL)
        assert await asyncio.wait_for(fatal.wait(), 30) == 0, "exit 3 becomes 0: on-failure leaves it stopped"
        env = bot_env(
            server,
            tmp_path / "s.sqlite3",
            message_content=False,
            NETEXPLAIN_GATEWAY_URL=f"ws://127.0.0.1:{free_port()}/gateway",
            NETEXPLAIN_CONNECT_TIMEOUT="2",
        )
        transient = await asyncio.create_subprocess_exec(*argv, env=env, stdout=DEVNULL, stderr=DEVNULL)
        assert await asyncio.wait_for(transient.wait(), 30) == 1, "an unreachable gateway may pass: restart"


# ----------------------------------------------------------------------------- two processes, one PostgreSQL


async def answered(server: LoopbackDiscord, user: str, channel: str, text: str) -> dict[str, Any]:
    message = await server.send_message(user, channel, text)
    (reply,) = await server.wait_for(lambda: replies_to(server, message["id"]), timeout=15)
    return reply


async def test_two_processes_coordinate_identify_and_ranges_share_settings_and_survive_a_kill(
    tmp_path: Path, pg_dsn: str
) -> None:
    async with LoopbackDiscord(shard_count=2, max_concurrency=1, enforce_identify_rate=True) as server:
        guilds = [guild_on_shard(server, 0, 2), guild_on_shard(server, 1, 2)]
        channels = [server.create_channel(g, "help")["id"] for g in guilds]
        admins = [
            server.create_user(f"a{i}", guild_id=g, manage_guild=True)["id"] for i, g in enumerate(guilds)
        ]
        users = [server.create_user(f"u{i}", guild_id=g)["id"] for i, g in enumerate(guilds)]
        ports = [free_port(), free_port(), free_port()]

        def env(shards: str, port: int) -> dict[str, str]:
            return bot_env(
                server,
                tmp_path / "unused.sqlite3",
                message_content=True,
                NETEXPLAIN_DB=pg_dsn,
                NETEXPLAIN_SHARDS=shards,
                NETEXPLAIN_HEALTH_PORT=str(port),
            )

        async def watch(admin: str, channel: str, mode: str) -> None:
            for options in (
                {"name": "watch", "type": 1, "options": [{"name": "mode", "type": 3, "value": mode}]},
                {"name": "channels", "type": 2, "options": [{"name": "add", "type": 1, "options": []}]},
            ):
                await (await server.slash_command(admin, channel, "netexplain", [options])).response()

        first, second = await asyncio.gather(
            BotProcess(env("0/2", ports[0])).start(), BotProcess(env("1/2", ports[1])).start()
        )
        observer = await PostgresSettingsStore(pg_dsn).open()
        try:
            await asyncio.gather(first.ready(30), second.ready(30))
            # Started together, max_concurrency 1: the second identify waited its turn in PostgreSQL.
            assert server.identifies_too_fast == 0
            (t0, s0, _), (t1, s1, _) = server.identify_log
            assert {s0, s1} == {0, 1} and t1 - t0 >= IDENTIFY_INTERVAL
            assert "waited" in (first.output + second.output)

            # A range that overlaps a live one, or another total, refuses to start: one sentence, exit 6.
            for shards, words in (("1-1/2", "overlaps 1-1/2"), ("0-3/4", "same total")):
                refused = await BotProcess(env(shards, ports[2])).start()
                assert await refused.wait(30) == EXIT_SHARDS
                one_sentence(refused, words)
            assert len(server.identify_log) == 2, "a refused process never identifies"

            # Each process writes its own guild's settings; every process (and the database) sees them.
            await watch(admins[0], channels[0], "reply")
            await watch(admins[1], channels[1], "reply")
            assert (await observer.get(int(guilds[0]))).watches(int(channels[0]))
            assert (await observer.get(int(guilds[1]))).watches(int(channels[1]))
            for user, channel in zip(users, channels, strict=True):
                assert "62893" in embed_text(
                    await answered(server, user, channel, "127.0.0.1:62893 refused?")
                )
            # A change made elsewhere reaches the process's cache at once (NOTIFY): shard 1 stops answering.
            await observer.set_watch_mode(int(guilds[1]), "off")
            quiet = await server.send_message(users[1], channels[1], "ECONNREFUSED 127.0.0.1:6379")
            await watch(admins[1], channels[1], "reply")  # and back on, through the process
            assert replies_to(server, quiet["id"]) == []

            # SIGKILL shard 0's process: shard 1 keeps answering; the range is free again at once.
            assert first.proc is not None
            first.proc.send_signal(signal.SIGKILL)
            assert await first.wait() == -signal.SIGKILL
            assert "6379" in embed_text(
                await answered(server, users[1], channels[1], "ECONNREFUSED ::1:6379")
            )
            assert (await probe_json(ports[1], "readyz"))[0] == 200

            replacement = await BotProcess(env("0/2", ports[2])).start()
            try:
                await replacement.ready(30)
                await wait_healthy(ports[2])
                # Nothing was lost: the settings the killed process wrote are the replacement's.
                reply = await answered(server, users[0], channels[0], "why is 10.0.0.5:8443 timing out")
                assert "8443" in embed_text(reply)
                samples = await scrape(ports[2])
                assert metric(samples, "netexplain_answers_total", entry_point="watch_reply") == 1
            finally:
                assert await replacement.stop() == 0
            assert server.identifies_too_fast == 0
        finally:
            await observer.close()
            for bot in (first, second):
                await bot.stop()
