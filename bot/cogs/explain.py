"""Asked-for explanations: mentions, DMs, `/explain`, and the "Explain this message" context menu.

None of these needs the privileged message-content intent: Discord delivers the text of DMs, of
messages that mention the bot, and of the message a context menu is used on.
Answers to messages follow their question: edited → updated (or deleted), deleted → deleted.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs._answering import (
    EntryPoint,
    announce_answer,
    delete_answer_of,
    explain_text,
    follow_edit,
    reply_to,
    strip_mentions_of,
)
from bot.core.model import Explanation
from bot.render import EXPIRED_BUTTONS, LIVE_VIEWS, AnswerView, render_explanation, render_help, truncate

if TYPE_CHECKING:
    from bot.client import NetexplainBot
    from bot.cogs.watch import Watch

log = logging.getLogger(__name__)

CANNOT_SEE_REPLY = (
    "I can't see the text of the message you replied to. Right-click it (or long-press) → Apps → "
    "**Explain this message** instead."
)


class Explain(commands.Cog):
    """Answers people who ask: mention, DM, `/explain`, message context menu."""

    def __init__(self, bot: NetexplainBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(
            name="Explain this message",
            callback=self.explain_message,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=True
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=True),
        )

    async def cog_load(self) -> None:
        """Context menus can't be declared inside a class, so register it by hand; and take the messages."""
        self.bot.tree.add_command(self.menu)
        self.bot.message_handler = self.on_message

    async def cog_unload(self) -> None:
        """Take the context menu back out of the tree, and stop the answers' buttons."""
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        if self.bot.message_handler == self.on_message:
            self.bot.message_handler = None
        LIVE_VIEWS.stop_all()

    # ------------------------------------------------------------------ mentions and DMs

    def _addressed_to_us(self, message: discord.Message) -> bool:
        me = self.bot.user
        if me is None or message.author.bot or message.webhook_id is not None:
            return False
        if message.guild is None:
            return True
        # raw_mentions, not role mentions or @everyone: only a real mention of the bot is a question.
        return me.id in message.raw_mentions

    async def _question(self, message: discord.Message) -> tuple[str, Explanation, str | None]:
        """(text, its explanation, note for the help): the message itself, or the message it replies to.

        The core runs once per text: the explanation of the asker's own words decides and is reused.
        """
        assert self.bot.user is not None
        own = strip_mentions_of(message.content, self.bot.user.id)
        explained = explain_text(self.bot, own)
        reference = message.reference
        if reference is None or reference.message_id is None or (own and explained.found_anything):
            return own, explained, None  # with findings of their own, the reply is just context
        target = reference.resolved if isinstance(reference.resolved, discord.Message) else None
        if target is None:
            try:
                target = await message.channel.fetch_message(reference.message_id)
            except discord.HTTPException:
                return own, explained, CANNOT_SEE_REPLY
        if not target.content:
            return own, explained, CANNOT_SEE_REPLY  # no message-content intent, and no mention of us
        return target.content, explain_text(self.bot, target.content), None

    async def on_message(self, message: discord.Message) -> None:
        """A mention in a server, or any DM, is a question; any other message may be watched.

        Not a listener: the bot's own `on_message` calls it (`message_handler`), one task per message.
        """
        received = time.perf_counter()
        if not self._addressed_to_us(message):
            # by name, not isinstance: discord.py loads each extension as a fresh module
            watch = cast("Watch | None", self.bot.get_cog("Watch"))
            if watch is not None:
                await watch.consider(message, received)
            return
        text, explanation, note = await self._question(message)
        await reply_to(
            self.bot,
            message,
            explanation,
            asker_id=message.author.id,
            style="full",
            text=text,
            entry_point="dm" if message.guild is None else "mention",
            received=received,
            note=note,
        )

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        """Keep the answer in step with its question (both asked and unasked answers)."""
        link = await self.bot.linker.settled(payload.message_id)
        if link is None:
            return
        message = payload.message
        explanation: Explanation | None = None
        if link.style in ("compact", "watched"):
            text = message.content
            if text:
                explanation = explain_text(self.bot, text, passive=link.style == "compact")
        elif self._addressed_to_us(message):
            text, explanation, _ = await self._question(message)
            if not text:
                explanation = None
        else:
            text = ""  # the mention was edited out: the question is withdrawn
        await follow_edit(self.bot, link, explanation, text)

    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        """Question deleted → answer deleted; answer deleted → forget it."""
        self.bot.linker.forget_answer(payload.message_id)
        await delete_answer_of(self.bot, payload.message_id)

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        """Purges delete the answers too."""
        for message_id in payload.message_ids:
            self.bot.linker.forget_answer(message_id)
            await delete_answer_of(self.bot, message_id)

    @commands.Cog.listener()
    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """A click on buttons nobody listens to any more (evicted, or from before a restart)."""
        if interaction.type is not discord.InteractionType.component:
            return
        custom_id = str((interaction.data or {}).get("custom_id", ""))
        if custom_id.startswith("netexplain:") and not LIVE_VIEWS.knows(custom_id):
            await interaction.response.send_message(EXPIRED_BUTTONS, ephemeral=True)

    # ------------------------------------------------------------------ /explain

    @app_commands.command(name="explain", description="Explain an address, port, URL or network error.")
    @app_commands.describe(
        query="What to explain, e.g. 127.0.0.1:62893, http://localhost:5173 or ECONNREFUSED",
        private="Show the answer only to you",
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.checks.cooldown(6, 30.0)  # per user: generous for people, a brake for scripts
    async def explain_command(
        self,
        interaction: discord.Interaction[Any],
        query: app_commands.Range[str, 1, 1000],
        private: bool = False,
    ) -> None:
        """`/explain query:<text> [private]`."""
        await self._respond(interaction, query, private=private, entry_point="slash")

    @explain_command.autocomplete("query")
    async def query_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        """Knowledge-base terms and example queries starting with (or containing) what was typed."""
        choices = []
        for label, value in self.bot.kb.suggest(current, 25)[:25]:
            if value and len(value) <= 100:  # Discord caps choice values at 100 characters
                choices.append(app_commands.Choice(name=truncate(label or value, 100), value=value))
        return choices

    async def explain_message(self, interaction: discord.Interaction[Any], message: discord.Message) -> None:
        """Message context menu: explain someone's message, privately to whoever asked."""
        await self._respond(interaction, message.content, private=True, entry_point="context_menu")

    async def _respond(
        self, interaction: discord.Interaction[Any], text: str, *, private: bool, entry_point: EntryPoint
    ) -> None:
        received = time.perf_counter()
        explanation = explain_text(self.bot, text)
        if not explanation.found_anything:
            await interaction.response.send_message(embed=render_help(), ephemeral=True)
            announce_answer(self.bot, entry_point, explanation, received)
            return
        rendered = render_explanation(explanation)
        embeds = rendered.embeds
        view = AnswerView(
            explanation,
            kb=self.bot.kb,
            asker_id=interaction.user.id,
            deletable=not private,
            rendered=rendered,
        )
        if view.has_buttons:
            with LIVE_VIEWS.sending(view):
                response = await interaction.response.send_message(
                    embeds=embeds, view=view, ephemeral=private
                )
            if isinstance(response.resource, discord.InteractionMessage):
                LIVE_VIEWS.sent(view, response.resource)
        else:
            await interaction.response.send_message(embeds=embeds, ephemeral=private)
        announce_answer(self.bot, entry_point, explanation, received)


async def setup(bot: NetexplainBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Explain(bot))
