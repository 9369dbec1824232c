"""The bot in this process against the loopback Discord, for what a subprocess can't show.

The `netexplain_answer` event (the metrics hook: one per answer sent, from every entry point) needs a
listener, and bounded answer buttons need a small bound; everything else is the real client.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import discord
import pytest
import pytest_asyncio

from bot.client import NetexplainBot
from bot.config import Config, Secret
from bot.core.model import Explanation
from bot.loopback_discord import LoopbackDiscord, point_discord_py_at
from bot.render import EXPIRED_BUTTONS, LIVE_VIEWS
from bot.store import SQLiteSettingsStore
from tests.bot.harness import buttons, replies_to

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


@dataclass
class Answered:
    entry_point: str
    explanation: Explanation
    seconds: float


@dataclass
class World:
    server: LoopbackDiscord
    bot: NetexplainBot
    events: asyncio.Queue[Answered]
    guild: str
    general: str
    watched: str
    alice: str
    admin: str

    async def next_event(self, timeout: float = 5.0) -> Answered:
        return await asyncio.wait_for(self.events.get(), timeout)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    async with LoopbackDiscord() as server:
        guild = server.create_guild("Metrics")["id"]
        general = server.create_channel(guild, "general")["id"]
        watched = server.create_channel(guild, "help")["id"]
        alice = server.create_user("alice", guild_id=guild)["id"]
        admin = server.create_user("admin", guild_id=guild, manage_guild=True)["id"]
        restore = point_discord_py_at(server.api_base, server.gateway_url)
        config = Config(
            token=Secret(server.token),
            db_path=tmp_path_factory.mktemp("answer-event") / "unused.sqlite3",
            message_content=True,
            api_base=server.api_base,
            gateway_url=server.gateway_url,
            watch_cooldown_minutes=0,
        )
        bot = NetexplainBot(config, store=await SQLiteSettingsStore(":memory:").open())
        events: asyncio.Queue[Answered] = asyncio.Queue()

        async def on_netexplain_answer(entry_point: str, explanation: Explanation, seconds: float) -> None:
            events.put_nowait(Answered(entry_point, explanation, seconds))

        bot.add_listener(on_netexplain_answer)
        runner = asyncio.create_task(bot.start(server.token))
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 20)
            yield World(server, bot, events, guild, general, watched, alice, admin)
        finally:
            LIVE_VIEWS.stop_all()  # their timeouts belong to this module's event loop
            await bot.close()
            await asyncio.wait_for(runner, 10)
            restore()


async def test_a_mention_announces_one_answer_with_its_explanation_and_time(world: World) -> None:
    question = await world.server.send_message(
        world.alice, world.general, "what is 127.0.0.1:62893?", mention_bot=True
    )
    event = await world.next_event()
    assert event.entry_point == "mention"
    assert [f.text for f in event.explanation.findings] == ["127.0.0.1:62893"]
    assert 0 < event.seconds < 5
    # announced after the answer reached Discord, not before
    assert len(replies_to(world.server, question["id"])) == 1
    assert world.events.empty()


async def test_answers_are_counted_when_announced_and_the_bot_never_parses_its_own_messages(
    world: World,
) -> None:
    seen: list[int] = []

    async def on_message(message: discord.Message) -> None:
        seen.append(message.id)

    world.bot.add_listener(on_message)
    try:
        counted = world.bot.metrics.answers.value("mention")
        question = await world.server.send_message(world.alice, world.general, "port 6379", mention_bot=True)
        event = await world.next_event()
        # the metrics count the answer before listeners hear of it: no task per answer in between
        assert event.entry_point == "mention"
        assert world.bot.metrics.answers.value("mention") == counted + 1
        answer = replies_to(world.server, question["id"])[0]
        # the answer's own MESSAGE_CREATE is dropped before discord.py builds a Message for it
        await world.server.send_message(world.alice, world.general, "after the answer")
        await world.server.wait_for(lambda: len(seen) == 2)
        assert seen[0] == int(question["id"]) and int(answer["id"]) not in seen
        assert len(world.bot.cached_messages) == 0  # and discord.py keeps no message cache
    finally:
        world.bot.remove_listener(on_message)


async def test_start_up_freezes_its_heap_so_no_collection_walks_it_again(world: World) -> None:
    # setup_hook froze what start-up loaded, the knowledge base among it
    assert gc.get_freeze_count() > 10_000
    kb = world.bot.kb
    assert all(o is not kb for o in gc.get_objects())  # frozen: no collection walks it


async def test_a_dm_is_announced_as_dm(world: World) -> None:
    dm = world.server.dm_channel(world.alice)["id"]
    await world.server.send_message(world.alice, dm, "port 5432")
    event = await world.next_event()
    assert event.entry_point == "dm"
    assert any(f.kind == "port" for f in event.explanation.findings)


async def test_slash_and_context_menu_are_announced_even_when_only_the_help_is_sent(world: World) -> None:
    interaction = await world.server.slash_command(
        world.alice, world.general, "explain", [{"name": "query", "type": 3, "value": "ECONNREFUSED"}]
    )
    await interaction.response()
    event = await world.next_event()
    assert event.entry_point == "slash" and event.explanation.found_anything

    target = await world.server.send_message(world.alice, world.general, "nothing technical here")
    interaction = await world.server.message_command(
        world.alice, world.general, "Explain this message", target["id"]
    )
    await interaction.response()
    event = await world.next_event()
    assert event.entry_point == "context_menu" and not event.explanation.found_anything


async def _settings(world: World, *options: dict[str, Any]) -> None:
    for option in options:
        interaction = await world.server.slash_command(world.admin, world.watched, "netexplain", [option])
        await interaction.response()


async def test_watching_announces_unasked_replies_and_clicked_reactions(world: World) -> None:
    await _settings(
        world,
        {"name": "channels", "type": 2, "options": [{"name": "add", "type": 1, "options": []}]},
        {"name": "watch", "type": 1, "options": [{"name": "mode", "type": 3, "value": "reply"}]},
    )
    await world.server.send_message(world.alice, world.watched, "listen EADDRINUSE :::3000")
    event = await world.next_event()
    assert event.entry_point == "watch_reply" and event.explanation.triggered

    await _settings(
        world, {"name": "watch", "type": 1, "options": [{"name": "mode", "type": 3, "value": "react"}]}
    )
    message = await world.server.send_message(world.alice, world.watched, "connect ECONNREFUSED ::1:5432")
    await world.server.wait_for(lambda: world.server.messages[message["id"]].get("reactions"))
    assert world.events.empty()  # a 🔎 offered is not an answer
    await world.server.add_reaction(world.admin, message["id"], "\N{RIGHT-POINTING MAGNIFYING GLASS}")
    event = await world.next_event()
    assert event.entry_point == "watch_reaction"
    assert any(f.kind == "error" for f in event.explanation.findings)


async def test_the_oldest_answers_buttons_expire_first_and_say_so(world: World) -> None:
    capacity, LIVE_VIEWS.capacity = LIVE_VIEWS.capacity, 1
    try:
        first = await world.server.send_message(world.alice, world.general, "port 5432", mention_bot=True)
        second = await world.server.send_message(world.alice, world.general, "port 6379", mention_bot=True)
        old, new = [
            await world.server.wait_for(lambda m=m: replies_to(world.server, m["id"]))
            for m in (first, second)
        ]
        old_delete, new_delete = buttons(old[0])["Delete"], buttons(new[0])["Delete"]
        await world.server.wait_for(lambda: len(LIVE_VIEWS) == 1 and LIVE_VIEWS.knows(new_delete))
        assert not LIVE_VIEWS.knows(old_delete)
        expired = await world.server.click_button(world.alice, old[0]["id"], old_delete)
        body = await expired.response()
        assert body["data"]["content"] == EXPIRED_BUTTONS and body["data"]["flags"] & 64
        assert old[0]["id"] in world.server.messages  # nothing happened to the old answer
        deleted = await world.server.click_button(world.alice, new[0]["id"], new_delete)
        await deleted.response()
        await world.server.wait_for(lambda: new[0]["id"] not in world.server.messages)
        assert len(LIVE_VIEWS) == 0
    finally:
        LIVE_VIEWS.capacity = capacity
        while not world.events.empty():
            world.events.get_nowait()
