"""A real discord.py client against the loopback Discord: login, events, replies, interactions, faults."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from bot.loopback_discord import LoopbackDiscord, point_discord_py_at

from .conftest import ClientFactory


def _client(**kwargs: Any) -> discord.Client:
    # guild_ready_timeout: READY is otherwise held back 2 s waiting for more GUILD_CREATEs.
    return discord.Client(
        intents=kwargs.pop("intents", discord.Intents.default()), guild_ready_timeout=0.05, **kwargs
    )


class Recorder(discord.Client):
    """A bare client recording on_message and replying to mentions/DMs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            intents=kwargs.pop("intents", discord.Intents.default()), guild_ready_timeout=0.05, **kwargs
        )
        self.seen: list[discord.Message] = []
        self.resumed = asyncio.Event()

    async def on_message(self, message: discord.Message) -> None:
        if message.author == self.user:
            return
        self.seen.append(message)
        if message.guild is None or self.user in message.mentions:
            await message.reply(f"you said: {message.content}", mention_author=False)

    async def on_resumed(self) -> None:
        self.resumed.set()


# ---------------------------------------------------------------------------------------------- login


async def test_login_ready_and_guild_create(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = _client()
    await run_client(client)
    assert client.user is not None and str(client.user.id) == server.bot_user["id"]
    guild = client.get_guild(int(world["guild"]["id"]))
    assert guild is not None and guild.name == "Networking Help"
    assert guild.get_channel(int(world["channel"]["id"])) is not None
    # Without the members intent GUILD_CREATE carries only the bot's own member, as on Discord.
    assert guild.me is not None and guild.member_count == 4  # owner, bot, alice, mod
    assert server.gateway_connects == 1
    # Default intents: MESSAGE_CONTENT (bit 15) is off.
    assert not server.identify_payloads[0]["intents"] & (1 << 15)
    paths = [c.path for c in server.rest_log]
    assert "/users/@me" in paths and "/oauth2/applications/@me" in paths


async def test_guild_created_after_connect_is_dispatched(
    server: LoopbackDiscord, run_client: ClientFactory
) -> None:
    client = _client()
    await run_client(client)
    guild = server.create_guild("Late")
    assert await server.wait_for(lambda: client.get_guild(int(guild["id"])))


async def test_bad_token_is_rejected(server: LoopbackDiscord, run_client: ClientFactory) -> None:
    with pytest.raises(discord.LoginFailure):
        await run_client(_client(), token="wrong")
    assert server.rest_log[-1].status == 401


async def test_privileged_intent_not_allowed_closes_4014(run_client: ClientFactory) -> None:
    srv = LoopbackDiscord(privileged_intents_allowed=False)
    async with srv:
        restore = point_discord_py_at(srv.api_base, srv.gateway_url)
        try:
            client = _client(intents=discord.Intents.default() | discord.Intents(message_content=True))
            with pytest.raises(discord.PrivilegedIntentsRequired):
                await run_client(client, token=srv.token)
        finally:
            restore()
            await client.close()


async def test_unknown_route_is_json_404(server: LoopbackDiscord) -> None:
    async with aiohttp.ClientSession() as session:
        headers = {"Authorization": f"Bot {server.token}"}
        async with session.get(f"{server.api_base}/nope/123", headers=headers) as resp:
            assert resp.status == 404
            assert resp.headers["Content-Type"] == "application/json"
            assert await resp.json() == {"message": "404: Not Found", "code": 0}
    assert server.rest_log[-1].path == "/nope/123" and server.rest_log[-1].status == 404


# ---------------------------------------------------------------------------------------------- messages


async def test_message_content_blanking_without_intent(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = Recorder()
    await run_client(client)
    alice, channel = world["alice"]["id"], world["channel"]["id"]

    await server.send_message(alice, channel, "127.0.0.1:62893 refused")
    mention = await server.send_message(alice, channel, "what is 127.0.0.1:62893?", mention_bot=True)
    dm = server.dm_channel(alice)
    await server.send_message(alice, dm["id"], "ECONNREFUSED?")
    await server.wait_for(lambda: len(client.seen) == 3)

    plain, mentioned, direct = client.seen
    assert plain.content == "" and plain.embeds == []
    assert mentioned.content == mention["content"] and client.user in mentioned.mentions
    assert direct.content == "ECONNREFUSED?" and direct.guild is None
    # REST reads follow the same rule as the gateway.
    assert (await plain.channel.fetch_message(plain.id)).content == ""

    # Both replies land, threaded to the message they answer, and the echoed content proves visibility.
    replies = await server.wait_for(
        lambda: (
            [m for m in server.messages.values() if m["author"]["id"] == server.bot_user["id"]][1:] or None
        )
    )
    replies = [m for m in server.messages.values() if m["author"]["id"] == server.bot_user["id"]]
    assert len(replies) == 2
    guild_reply = next(m for m in replies if m["channel_id"] == channel)
    assert guild_reply["message_reference"]["message_id"] == mention["id"]
    assert guild_reply["type"] == 19
    assert guild_reply["content"].startswith("you said: <@")
    assert guild_reply["allowed_mentions"]["replied_user"] is False
    # mention_author=False: alice is not pinged; the echoed "<@bot>" only mentions the bot itself.
    assert world["alice"]["id"] not in guild_reply["pinged"]
    assert guild_reply["pinged"] == [server.bot_user["id"]]


async def test_message_content_intent_keeps_content(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = Recorder(intents=discord.Intents.default() | discord.Intents(message_content=True))
    await run_client(client)
    await server.send_message(world["alice"]["id"], world["channel"]["id"], "plain text")
    await server.wait_for(lambda: client.seen)
    assert client.seen[0].content == "plain text"


async def test_reply_to_bot_keeps_content_and_edit_delete_react(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = Recorder()
    events: list[str] = []

    async def on_raw_message_edit(payload: discord.RawMessageUpdateEvent) -> None:
        events.append(f"edit:{payload.data['content']}")

    async def on_raw_message_delete(payload: discord.RawMessageDeleteEvent) -> None:
        events.append(f"delete:{payload.message_id}")

    async def on_raw_reaction_add(payload: discord.RawReactionActionEvent) -> None:
        events.append(f"react:{payload.emoji}")

    client.event(on_raw_message_edit)
    client.event(on_raw_message_delete)
    client.event(on_raw_reaction_add)
    await run_client(client)
    channel = client.get_channel(int(world["channel"]["id"]))
    assert isinstance(channel, discord.TextChannel)
    sent = await channel.send("bot says hi")
    await sent.add_reaction("🗑")
    assert server.reactions[str(sent.id)] == [(server.bot_user["id"], "🗑")]

    reply = await server.send_message(
        world["alice"]["id"], world["channel"]["id"], "thanks", reply_to=str(sent.id)
    )
    await server.wait_for(lambda: client.seen)
    assert client.seen[0].content == "thanks"  # reply to the bot: visible without the intent
    await server.add_reaction(world["alice"]["id"], str(sent.id), "👍")
    await server.edit_message(reply["id"], "thanks!")
    await server.delete_message(reply["id"])
    await server.wait_for(lambda: len(events) == 4)
    assert sorted(events) == sorted(["react:🗑", "react:👍", "edit:thanks!", f"delete:{reply['id']}"])
    assert reply["id"] not in server.messages

    fetched = await channel.fetch_message(sent.id)
    assert fetched.content == "bot says hi"
    await fetched.edit(content="edited")
    assert server.messages[str(sent.id)]["content"] == "edited"
    await fetched.delete()
    assert str(sent.id) not in server.messages


async def test_everyone_with_allowed_mentions_none_pings_nobody(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = _client(allowed_mentions=discord.AllowedMentions.none())
    await run_client(client)
    channel = client.get_channel(int(world["channel"]["id"]))
    assert isinstance(channel, discord.TextChannel)
    alice = world["alice"]["id"]
    msg = await channel.send(f"@everyone look, <@{alice}> asked about localhost")
    stored = server.messages[str(msg.id)]
    assert stored["pinged"] == []
    assert stored["mention_everyone"] is False and stored["mentions"] == []
    assert stored["allowed_mentions"] == {"parse": []}

    # Without allowed_mentions at all, Discord's default parses everything.
    default = _client()
    default.http.token = server.token  # reuse only the HTTP client; no gateway needed
    await default.http.static_login(server.token)
    try:
        data = await default.http.send_message(
            int(world["channel"]["id"]), params=_params(f"@everyone <@{alice}>")
        )
    finally:
        await default.close()
    assert server.messages[data["id"]]["pinged"] == [alice, "@everyone"]


def _params(content: str) -> Any:
    return discord.http.handle_message_parameters(content=content)


async def test_over_limit_embed_is_400(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = _client()
    await run_client(client)
    channel = client.get_channel(int(world["channel"]["id"]))
    assert isinstance(channel, discord.TextChannel)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=discord.Embed(description="x" * 4097))
    assert info.value.status == 400 and info.value.code == 50035
    assert "embeds.0.description" in str(info.value)

    too_big = discord.Embed(title="t")
    for i in range(6):
        too_big.add_field(name=f"f{i}", value="y" * 1000)
    with pytest.raises(discord.HTTPException) as info:
        await channel.send(embed=too_big)
    assert info.value.status == 400 and "6000" in str(info.value)
    with pytest.raises(discord.HTTPException):
        await channel.send("z" * 2001)
    assert server.channel_messages(world["channel"]["id"]) == []


async def test_429_is_retried(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = _client()
    await run_client(client)
    channel = client.get_channel(int(world["channel"]["id"]))
    assert isinstance(channel, discord.TextChannel)
    server.fail_next("POST", r"/channels/\d+/messages$", 429, count=2, retry_after=0.02)
    msg = await channel.send("eventually")
    assert server.messages[str(msg.id)]["content"] == "eventually"
    statuses = [c.status for c in server.rest_log if c.method == "POST" and c.path.endswith("/messages")]
    assert statuses == [429, 429, 200]


async def test_500_is_retried(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = _client()
    await run_client(client)
    channel = client.get_channel(int(world["channel"]["id"]))
    assert isinstance(channel, discord.TextChannel)
    server.fail_next("POST", r"/messages$", 500)  # discord.py sleeps 1 s before retrying a 5xx
    await channel.send("after a 500")
    assert [c.status for c in server.rest_log if c.method == "POST"] == [500, 200]


async def test_drop_gateway_resumes_and_replays(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = Recorder()
    await run_client(client)
    await server.drop_gateway()
    # Sent while the bot may still be disconnected: must arrive via RESUME replay or live.
    await server.send_message(world["alice"]["id"], world["channel"]["id"], "after drop", mention_bot=True)
    await asyncio.wait_for(client.resumed.wait(), 5)
    await server.wait_for(lambda: client.seen)
    assert client.seen[0].content.endswith("after drop")
    assert server.resumes == 1 and server.gateway_connects == 2

    await server.drop_gateway(abrupt=True)
    await server.wait_for(lambda: server.resumes == 2)
    await server.send_message(world["alice"]["id"], world["channel"]["id"], "again", mention_bot=True)
    await server.wait_for(lambda: len(client.seen) == 2)


async def test_invalid_session_leads_to_fresh_identify(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    class QuickReidentify(Recorder):
        async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
            pass  # discord.py sleeps 5 s before every non-initial IDENTIFY by default

    client = QuickReidentify()
    await run_client(client)
    await server.invalidate_sessions()
    await server.wait_for(lambda: len(server.identify_payloads) == 2)
    await server.send_message(world["alice"]["id"], world["channel"]["id"], "hello", mention_bot=True)
    await server.wait_for(lambda: client.seen)


async def test_raw_dispatch_reaches_client(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    client = Recorder()
    raw: list[str] = []

    async def on_socket_event_type(event: str) -> None:
        raw.append(event)

    client.event(on_socket_event_type)
    await run_client(client)
    await server.send_raw_dispatch("LOOPBACK_BOGUS", {"nonsense": True})
    await server.wait_for(lambda: "LOOPBACK_BOGUS" in raw)
    # Unknown events are ignored by discord.py; the client keeps working.
    await server.send_message(world["alice"]["id"], world["channel"]["id"], "still alive", mention_bot=True)
    await server.wait_for(lambda: client.seen)


class Buttons(discord.ui.View):
    def __init__(self) -> None:
        super().__init__(timeout=30)
        self.clicked: list[str] = []

    @discord.ui.button(label="More", custom_id="more")
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button[Buttons]) -> None:
        self.clicked.append("more")
        await interaction.response.edit_message(content="more details")

    @discord.ui.select(
        custom_id="topic", options=[discord.SelectOption(label="a"), discord.SelectOption(label="b")]
    )
    async def topic(self, interaction: discord.Interaction, select: discord.ui.Select[Buttons]) -> None:
        self.clicked.append(f"topic:{','.join(select.values)}")
        await interaction.response.defer()


def _make_bot(view_box: list[Buttons]) -> commands.Bot:
    bot = commands.Bot(command_prefix=[], intents=discord.Intents.default(), guild_ready_timeout=0.05)

    async def topics(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [
            app_commands.Choice(name=t, value=t) for t in ("localhost", "loopback", "lan") if current in t
        ]

    @bot.tree.command(name="explain", description="Explain a thing")
    @app_commands.autocomplete(query=topics)
    async def explain(interaction: discord.Interaction, query: str) -> None:
        view = Buttons()
        view_box.append(view)
        await interaction.response.send_message(f"explaining `{query}`", view=view)

    @bot.tree.command(name="slow", description="Deferred")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await interaction.followup.send("done thinking")
        await interaction.followup.send("and one more", ephemeral=True)

    @bot.tree.context_menu(name="Explain this message")
    async def explain_message(interaction: discord.Interaction, message: discord.Message) -> None:
        await interaction.response.send_message(f"target: {message.content}", ephemeral=True)

    return bot


async def test_slash_command_button_and_select(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    views: list[Buttons] = []
    bot = _make_bot(views)
    await run_client(bot)
    await bot.tree.sync()
    assert {c["name"] for c in server.synced_commands[None]} == {"explain", "slow", "Explain this message"}

    alice, channel = world["alice"]["id"], world["channel"]["id"]
    inter = await server.slash_command(
        alice, channel, "explain", [{"name": "query", "type": 3, "value": "::1"}]
    )
    body = await inter.response()
    assert body["type"] == 4 and body["data"]["content"] == "explaining `::1`"
    original = inter.original
    assert original is not None and original["components"][0]["components"][0]["custom_id"] == "more"
    assert original["interaction_metadata"]["id"] == inter.id

    click = await server.click_button(alice, original["id"], "more")
    assert (await click.response())["type"] == 7
    assert server.messages[original["id"]]["content"] == "more details"
    pick = await server.choose(alice, original["id"], "topic", ["b"])
    assert (await pick.response())["type"] == 6
    assert views[0].clicked == ["more", "topic:b"]

    with pytest.raises(ValueError):
        await server.click_button(alice, original["id"], "missing")


async def test_slash_command_in_dm(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    bot = _make_bot([])
    await run_client(bot)
    dm = server.dm_channel(world["alice"]["id"])
    inter = await server.slash_command(
        world["alice"]["id"], dm["id"], "explain", [{"name": "query", "type": 3, "value": "a"}]
    )
    assert (await inter.response())["data"]["content"] == "explaining `a`"
    assert inter.original is not None and inter.original["channel_id"] == dm["id"]


async def test_autocomplete(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    bot = _make_bot([])
    await run_client(bot)
    choices = await server.autocomplete(
        world["alice"]["id"],
        world["channel"]["id"],
        "explain",
        [{"name": "query", "type": 3, "value": "loc"}],
    )
    assert choices == [{"name": "localhost", "value": "localhost"}]


async def test_too_many_autocomplete_choices_is_400(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    bot = commands.Bot(command_prefix=[], intents=discord.Intents.default(), guild_ready_timeout=0.05)

    async def many(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"c{i}", value=f"c{i}") for i in range(30)]

    @bot.tree.command(name="explain", description="Explain a thing")
    @app_commands.autocomplete(query=many)
    async def explain(interaction: discord.Interaction, query: str) -> None:
        await interaction.response.send_message(query)

    await run_client(bot)
    with pytest.raises(TimeoutError):
        await server.autocomplete(
            world["alice"]["id"],
            world["channel"]["id"],
            "explain",
            [{"name": "query", "type": 3, "value": ""}],
            0.5,
        )
    (callback,) = [c for c in server.rest_log if c.path.endswith("/callback")]
    assert callback.status == 400 and len(callback.json["data"]["choices"]) == 30


async def test_defer_then_followups(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    bot = _make_bot([])
    await run_client(bot)
    inter = await server.slash_command(world["alice"]["id"], world["channel"]["id"], "slow")
    assert (await inter.response())["type"] == 5
    await server.wait_for(lambda: inter.followups())
    original = inter.original
    assert original is not None and original["content"] == "done thinking"
    assert original["flags"] & 64 and not original["flags"] & 128  # ephemeral from defer, no longer loading
    (extra,) = inter.followups()
    assert extra["content"] == "and one more" and extra["flags"] & 64


async def test_message_context_menu_sees_content(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    bot = _make_bot([])
    await run_client(bot)
    target = await server.send_message(world["alice"]["id"], world["channel"]["id"], "EADDRINUSE on :8080")
    inter = await server.message_command(
        world["mod"]["id"], world["channel"]["id"], "Explain this message", target["id"]
    )
    body = await inter.response()
    assert body["data"]["content"] == "target: EADDRINUSE on :8080"
    assert body["data"]["flags"] == 64
    assert inter.original is not None and inter.original["flags"] & 64


async def test_subscribe_streams_state_changes(
    server: LoopbackDiscord, world: dict[str, Any], run_client: ClientFactory
) -> None:
    queue = server.subscribe()
    client = Recorder()
    await run_client(client)
    await server.send_message(world["alice"]["id"], world["channel"]["id"], "hi", mention_bot=True)
    kinds: list[str] = []
    while "message_create" not in kinds or kinds.count("message_create") < 2:
        kinds.append((await asyncio.wait_for(queue.get(), 5))["type"])
    assert "gateway_identify" in kinds


async def test_wait_for_times_out_clearly(server: LoopbackDiscord) -> None:
    with pytest.raises(TimeoutError, match="still falsy"):
        await server.wait_for(lambda: server.messages["missing"], timeout=0.05)
