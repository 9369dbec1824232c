"""End to end, one bot process per test: start-up failures, restarts, running without the intent."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot.config import Config
from bot.loopback_discord import LoopbackDiscord
from bot.runner import run_bot
from tests.bot.harness import BotProcess, bot_env, embed_text, replies_to

pytestmark = pytest.mark.e2e


def assert_one_sentence(output: str) -> str:
    """The failure is one `netexplain: ...` line and no traceback."""
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.startswith("netexplain: ")]
    assert len(lines) == 1, output
    assert lines[0].endswith("."), lines[0]
    return lines[0]


async def test_missing_token_is_one_sentence_and_a_nonzero_exit(tmp_path: Path) -> None:
    # `netexplain run` without a token answers in the terminal instead (the CLI's choice); `sync` needs one.
    bot = await BotProcess(
        bot_env(None, tmp_path / "s.sqlite3", message_content=False), command="sync"
    ).start()
    assert await bot.wait() != 0
    assert "DISCORD_TOKEN is not set" in assert_one_sentence(bot.output)


def test_run_bot_without_a_token_is_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_bot(Config()) == 2
    assert "DISCORD_TOKEN is not set" in assert_one_sentence(capsys.readouterr().err)


async def test_rejected_token_is_one_sentence_and_a_nonzero_exit(tmp_path: Path) -> None:
    async with LoopbackDiscord() as server:
        env = bot_env(server, tmp_path / "s.sqlite3", message_content=False, DISCORD_TOKEN="not-the-token")
        bot = await BotProcess(env).start()
        assert await bot.wait() != 0
    assert "rejected the token" in assert_one_sentence(bot.output)


async def test_refused_privileged_intent_is_one_sentence(tmp_path: Path) -> None:
    async with LoopbackDiscord(privileged_intents_allowed=False) as server:
        bot = await BotProcess(bot_env(server, tmp_path / "s.sqlite3", message_content=True)).start()
        assert await bot.wait() != 0
    assert "message-content intent" in assert_one_sentence(bot.output)


async def test_unreachable_gateway_is_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    async with LoopbackDiscord() as server:
        env = bot_env(
            server,
            tmp_path / "s.sqlite3",
            message_content=False,
            NETEXPLAIN_GATEWAY_URL=f"ws://127.0.0.1:{dead}/gateway",
            NETEXPLAIN_CONNECT_TIMEOUT="2",
        )
        bot = await BotProcess(env).start()
        assert await bot.wait() != 0
    assert "Could not connect to the Discord gateway" in assert_one_sentence(bot.output)


async def test_unreachable_api_is_one_sentence(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    env = bot_env(None, tmp_path / "s.sqlite3", message_content=False, DISCORD_TOKEN="x")
    env["NETEXPLAIN_API_BASE"] = f"http://127.0.0.1:{dead}/api/v10"
    bot = await BotProcess(env).start()
    assert await bot.wait() != 0
    assert "Could not reach the Discord API" in assert_one_sentence(bot.output)


async def test_settings_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "settings.sqlite3"
    async with LoopbackDiscord() as server:
        guild = server.create_guild()["id"]
        channel = server.create_channel(guild, "help")["id"]
        admin = server.create_user("admin", guild_id=guild, manage_guild=True)["id"]
        bob = server.create_user("bob", guild_id=guild)["id"]

        first = await BotProcess(bot_env(server, db, message_content=True)).start()
        await first.ready()
        for options in (
            {"name": "watch", "type": 1, "options": [{"name": "mode", "type": 3, "value": "reply"}]},
            {"name": "channels", "type": 2, "options": [{"name": "add", "type": 1, "options": []}]},
        ):
            await (await server.slash_command(admin, channel, "netexplain", [options])).response()
        assert await first.stop() == 0

        second = await BotProcess(bot_env(server, db, message_content=True)).start()
        try:
            await second.ready()
            message = await server.send_message(bob, channel, "why is 127.0.0.1:62893 refusing")
            replies = await server.wait_for(lambda: replies_to(server, message["id"]))
            assert "62893" in embed_text(replies[0])
        finally:
            assert await second.stop() == 0


async def test_without_the_intent_watching_is_off_and_everything_asked_still_works(tmp_path: Path) -> None:
    async with LoopbackDiscord() as server:
        guild = server.create_guild()["id"]
        channel = server.create_channel(guild, "general")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        bob = server.create_user("bob", guild_id=guild)["id"]
        bot = await BotProcess(bot_env(server, tmp_path / "s.sqlite3", message_content=False)).start()
        try:
            await bot.ready()
            assert server.identify_payloads[-1]["intents"] & (1 << 15) == 0
            assert bot.output.count("Watching is off") == 1

            question = await server.send_message(alice, channel, "127.0.0.1:62893?", mention_bot=True)
            reply = (await server.wait_for(lambda: replies_to(server, question["id"])))[0]
            assert "loopback" in embed_text(reply)

            # A reply-mention to a message the bot can't read points to the context menu...
            hidden = await server.send_message(bob, channel, "ECONNREFUSED ::1:5432")
            asking = await server.send_message(
                alice, channel, "this?", mention_bot=True, reply_to=hidden["id"]
            )
            reply = (await server.wait_for(lambda: replies_to(server, asking["id"])))[0]
            assert "explain this message" in embed_text(reply)
            # ...which works without the intent.
            interaction = await server.message_command(alice, channel, "Explain this message", hidden["id"])
            assert "[::1]:5432" in embed_text((await interaction.response())["data"])
        finally:
            assert await bot.stop() == 0
