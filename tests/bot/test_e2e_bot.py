"""End to end: the real bot (`python -m bot.cli run`) against the loopback Discord, checked on the wire.

One server and one bot (message-content intent on, so watching works) serve the whole module.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.loopback_discord import LoopbackDiscord
from tests.bot.harness import BotProcess, bot_env, buttons, click_once_listening, embed_text, replies_to

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

EPHEMERAL = 64


@dataclass
class World:
    server: LoopbackDiscord
    bot: BotProcess
    guild: str
    general: str
    watched: str
    alice: str
    bob: str
    admin: str

    async def ask(
        self, text: str, *, channel: str | None = None, author: str | None = None
    ) -> dict[str, Any]:
        """Mention the bot with `text` and return its threaded reply."""
        question = await self.server.send_message(
            author or self.alice, channel or self.general, text, mention_bot=True
        )
        return await self.reply_to(question["id"])

    async def reply_to(self, message_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """The bot's single reply to a message (fails if there are two)."""
        replies = await self.server.wait_for(lambda: replies_to(self.server, message_id), timeout)
        assert len(replies) == 1, replies
        return replies[0]

    async def settle(self) -> None:
        """Wait until the bot has handled everything sent so far: ask something and see the answer."""
        await self.ask("port 22")

    async def netexplain(self, user: str, channel: str, *options: dict[str, Any]) -> dict[str, Any]:
        """Run `/netexplain <options>` and return the callback body."""
        interaction = await self.server.slash_command(user, channel, "netexplain", list(options))
        return await interaction.response()


def sub(name: str, **values: Any) -> dict[str, Any]:
    """A subcommand option with string/int values."""
    options = [{"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in values.items()]
    return {"name": name, "type": 1, "options": options}


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    db: Path = tmp_path_factory.mktemp("e2e") / "settings.sqlite3"
    async with LoopbackDiscord() as server:
        guild = server.create_guild("Networking Help")["id"]
        general = server.create_channel(guild, "general")["id"]
        watched = server.create_channel(guild, "help")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        bob = server.create_user("bob", guild_id=guild)["id"]
        admin = server.create_user("admin", guild_id=guild, manage_guild=True)["id"]
        bot = await BotProcess(bot_env(server, db, message_content=True)).start()
        try:
            await bot.ready()
            world = World(server, bot, guild, general, watched, alice, bob, admin)
            body = await world.netexplain(
                admin, watched, {"name": "channels", "type": 2, "options": [sub("add")]}
            )
            assert "now watching" in embed_text(body["data"])
            yield world
        finally:
            code = await bot.stop()
            assert code == 0, bot.output
            assert "Traceback" not in bot.output, bot.output


async def test_mention_gets_a_threaded_reply_that_explains_loopback(world: World) -> None:
    question = await world.server.send_message(
        world.alice, world.general, "what is 127.0.0.1:62893?", mention_bot=True
    )
    reply = await world.reply_to(question["id"])
    assert reply["message_reference"]["message_id"] == question["id"]
    assert "loopback" in embed_text(reply)
    assert reply["pinged"] == []
    assert reply["allowed_mentions"]["parse"] == [] and reply["allowed_mentions"].get("replied_user") is False


async def test_mention_with_nothing_to_explain_gets_short_help(world: World) -> None:
    reply = await world.ask("hello there")
    text = embed_text(reply)
    assert "nothing to explain" in text and "127.0.0.1:62893" in text


async def test_mention_replying_to_a_message_explains_that_message(world: World) -> None:
    original = await world.server.send_message(world.bob, world.general, "connect ECONNREFUSED ::1:5432")
    question = await world.server.send_message(
        world.alice, world.general, "what does this mean?", mention_bot=True, reply_to=original["id"]
    )
    text = embed_text(await world.reply_to(question["id"]))
    assert "[::1]:5432" in text  # the answer is about the message replied to


async def test_any_dm_is_a_question(world: World) -> None:
    dm = world.server.dm_channel(world.alice)["id"]
    question = await world.server.send_message(world.alice, dm, "port 5432")
    reply = await world.reply_to(question["id"])
    assert reply["channel_id"] == dm
    assert "5432" in embed_text(reply)


async def test_everyone_in_a_question_pings_nobody(world: World) -> None:
    role = world.server.guilds[world.guild]["roles"][0]["id"]
    reply = await world.ask(f"@everyone @here <@&{role}> <@{world.bob}> look: 127.0.0.1:62893 ```")
    assert reply["pinged"] == []
    assert "@everyone" not in str(reply.get("content") or "")


async def test_slash_explain_answers_in_the_channel(world: World) -> None:
    interaction = await world.server.slash_command(
        world.alice,
        world.general,
        "explain",
        [{"name": "query", "type": 3, "value": "http://localhost:5173"}],
    )
    body = await interaction.response()
    assert body["type"] == 4
    assert not (body["data"].get("flags") or 0) & EPHEMERAL
    assert "5173" in embed_text(body["data"])


async def test_slash_explain_private_is_ephemeral(world: World) -> None:
    interaction = await world.server.slash_command(
        world.bob,
        world.general,
        "explain",
        [
            {"name": "query", "type": 3, "value": "127.0.0.1:62893"},
            {"name": "private", "type": 5, "value": True},
        ],
    )
    body = await interaction.response()
    assert body["data"]["flags"] & EPHEMERAL
    assert "loopback" in embed_text(body["data"])


async def test_slash_explain_works_in_dms(world: World) -> None:
    dm = world.server.dm_channel(world.bob)["id"]
    interaction = await world.server.slash_command(
        world.bob, dm, "explain", [{"name": "query", "type": 3, "value": "ECONNREFUSED"}]
    )
    assert "econnrefused" in embed_text((await interaction.response())["data"])


async def test_autocomplete_offers_terms_and_examples(world: World) -> None:
    choices = await world.server.autocomplete(
        world.alice,
        world.general,
        "explain",
        [{"name": "query", "type": 3, "value": "local", "focused": True}],
    )
    assert 1 <= len(choices) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)
    assert any("local" in (c["name"] + c["value"]).lower() for c in choices)


async def test_context_menu_explains_someone_elses_message_privately(world: World) -> None:
    target = await world.server.send_message(
        world.bob, world.general, "curl: (7) Failed to connect to localhost:8080"
    )
    interaction = await world.server.message_command(
        world.alice, world.general, "Explain this message", target["id"]
    )
    body = await interaction.response()
    assert body["type"] == 4 and body["data"]["flags"] & EPHEMERAL
    assert "8080" in embed_text(body["data"])


async def test_answer_follows_edits_and_deletion(world: World) -> None:
    question = await world.server.send_message(
        world.alice, world.general, "what is port 5432", mention_bot=True
    )
    answer = await world.reply_to(question["id"])
    await world.server.edit_message(
        question["id"], f"<@{world.server.bot_user['id']}> what is 127.0.0.1:62893"
    )
    await world.server.wait_for(lambda: "loopback" in embed_text(world.server.messages[answer["id"]]))
    await world.server.edit_message(question["id"], f"<@{world.server.bot_user['id']}> never mind")
    await world.server.wait_for(lambda: answer["id"] not in world.server.messages)

    question = await world.server.send_message(world.alice, world.general, "port 6379", mention_bot=True)
    answer = await world.reply_to(question["id"])
    await world.server.delete_message(question["id"])
    await world.server.wait_for(lambda: answer["id"] not in world.server.messages)


async def test_only_the_asker_can_delete_or_pick_an_os(world: World) -> None:
    answer = await world.ask("ECONNREFUSED 127.0.0.1:5432")
    ids = buttons(answer)
    assert "Delete" in ids
    refused = await click_once_listening(world.server, world.bob, answer["id"], ids["Delete"])
    assert (
        refused["data"]["flags"] & EPHEMERAL
        and "only the person who asked" in refused["data"]["content"].lower()
    )
    assert answer["id"] in world.server.messages
    os_buttons = [label for label in ids if label in ("Linux", "macOS", "Windows")]
    if os_buttons:
        body = await (
            await world.server.click_button(world.alice, answer["id"], ids[os_buttons[0]])
        ).response()
        assert body["type"] == 7  # the answer itself is updated with that system's commands
    await (await world.server.click_button(world.alice, answer["id"], ids["Delete"])).response()
    await world.server.wait_for(lambda: answer["id"] not in world.server.messages)


async def test_non_managers_cannot_change_settings(world: World) -> None:
    body = await world.netexplain(world.bob, world.watched, sub("watch", mode="off"))
    assert body["data"]["flags"] & EPHEMERAL
    assert "manage server" in body["data"]["content"].lower()


async def test_about_is_for_everyone_while_settings_are_for_managers(world: World, tmp_path: Path) -> None:
    sync = BotProcess(bot_env(world.server, tmp_path / "sync.sqlite3", message_content=True), command="sync")
    assert await (await sync.start()).wait() == 0, sync.output
    synced = {c["name"]: c for c in world.server.synced_commands[None]}
    manage_guild = 1 << 5
    interaction = await world.server.slash_command(world.bob, world.general, "about")
    bob_permissions = int(interaction.payload["member"]["permissions"])
    assert not bob_permissions & manage_guild

    def visible_to_bob(name: str) -> bool:
        """Discord's rule: shown when the member has every bit of `default_member_permissions`."""
        required = synced[name]["default_member_permissions"]
        return required is None or int(required) & bob_permissions == int(required)

    assert visible_to_bob("about") and visible_to_bob("explain") and not visible_to_bob("netexplain")
    assert "about" not in {o["name"] for o in synced["netexplain"]["options"]}
    assert set(synced["about"]["contexts"]) == {0, 1, 2}  # servers, DMs with the bot, group DMs

    body = await interaction.response()
    text = embed_text(body["data"])
    assert body["data"]["flags"] & EPHEMERAL
    for topic in ("what i read", "what i store", "what i log", "what i look up", "no messages, no users"):
        assert topic in text
    dm = world.server.dm_channel(world.alice)["id"]
    body = await (await world.server.slash_command(world.alice, dm, "about")).response()
    assert "what i store" in embed_text(body["data"])


async def test_watching_reply_mode_answers_once_per_cooldown(world: World) -> None:
    await world.netexplain(world.admin, world.watched, sub("watch", mode="reply"))
    await world.netexplain(world.admin, world.watched, sub("cooldown", minutes=5))
    first = await world.server.send_message(
        world.bob, world.watched, "my dev server says 127.0.0.1:41234 is busy"
    )
    reply = await world.reply_to(first["id"])
    assert "41234" in embed_text(reply) and reply["pinged"] == []
    again = await world.server.send_message(world.alice, world.watched, "same here 127.0.0.1:41234")
    other = await world.server.send_message(world.alice, world.watched, "and ECONNREFUSED 127.0.0.1:41999")
    await world.reply_to(other["id"])
    await world.settle()
    assert replies_to(world.server, again["id"]) == []


async def test_watching_ignores_bots_webhooks_and_unwatched_channels(world: World) -> None:
    await world.netexplain(world.admin, world.watched, sub("watch", mode="reply"))
    hook = await world.server.send_message(world.bob, world.watched, "127.0.0.1:40001 refused", webhook=True)
    robot = world.server.create_user("ci-bot", bot=True, guild_id=world.guild)["id"]
    from_bot = await world.server.send_message(robot, world.watched, "127.0.0.1:40002 refused")
    elsewhere = await world.server.send_message(world.bob, world.general, "127.0.0.1:40003 refused")
    await world.settle()
    for message in (hook, from_bot, elsewhere):
        assert replies_to(world.server, message["id"]) == []


async def test_watching_react_mode_answers_whoever_clicks(world: World) -> None:
    await world.netexplain(world.admin, world.watched, sub("watch", mode="react"))
    message = await world.server.send_message(world.bob, world.watched, "getting ECONNREFUSED ::1:5433 again")
    bot_id = world.server.bot_user["id"]
    await world.server.wait_for(lambda: (bot_id, "🔎") in world.server.reactions.get(message["id"], []))
    assert replies_to(world.server, message["id"]) == []
    await world.server.add_reaction(world.alice, message["id"], "🔎")
    reply = await world.reply_to(message["id"])
    assert "[::1]:5433" in embed_text(reply)


async def test_watching_off_mode_does_nothing(world: World) -> None:
    await world.netexplain(world.admin, world.watched, sub("watch", mode="off"))
    message = await world.server.send_message(world.bob, world.watched, "ECONNREFUSED 127.0.0.1:40404")
    await world.settle()
    assert replies_to(world.server, message["id"]) == []
    assert world.server.reactions.get(message["id"], []) == []


async def test_gateway_drop_mid_session_still_answers(world: World) -> None:
    before = world.server.gateway_connects
    await world.server.drop_gateway()
    await world.server.wait_for(lambda: world.server.gateway_connects > before, timeout=15)
    assert "loopback" in embed_text(await world.ask("127.0.0.1:62893"))
    await world.server.drop_gateway(abrupt=True)
    assert "loopback" in embed_text(await world.ask("127.0.0.1:62893 again"))


@pytest.mark.parametrize("status", [429, 500])
async def test_rest_errors_are_retried_and_nothing_is_lost(world: World, status: int) -> None:
    world.server.fail_next("POST", r"/channels/\d+/messages$", status)
    question = await world.server.send_message(
        world.alice, world.general, "127.0.0.1:62893", mention_bot=True
    )
    await world.reply_to(question["id"], timeout=10)
    assert any(c.status == status for c in world.server.rest_log)


async def test_malformed_events_do_not_kill_the_bot(world: World) -> None:
    await world.server.send_raw_dispatch("MESSAGE_CREATE", {"id": "1"})
    await world.server.send_raw_dispatch("INTERACTION_CREATE", {"type": 2})
    await world.server.send_raw_dispatch("MESSAGE_REACTION_ADD", None)
    assert "loopback" in embed_text(await world.ask("127.0.0.1:62893"))
    assert world.bot.proc is not None and world.bot.proc.returncode is None
    assert "ignored a malformed MESSAGE_CREATE event" in world.bot.output


async def test_logs_carry_no_message_content_by_default(world: World) -> None:
    await world.ask("secret-ish words 127.0.0.1:62893")
    await asyncio.sleep(0.1)
    assert "secret-ish" not in world.bot.output
