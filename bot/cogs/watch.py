"""Unasked help in watched channels: a 🔎 reaction (mode `react`), a compact reply (`reply`), or nothing.

Opt-in twice: the operator enables the message-content intent (NETEXPLAIN_MESSAGE_CONTENT), and a
server's admins choose the channels. A finding is explained at most once per channel per cooldown,
so four people pasting the same address don't get four answers.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

import discord
from discord.ext import commands

from bot.cogs._answering import explain_text, reply_to
from bot.core.model import Explanation, Finding

if TYPE_CHECKING:
    from bot.client import NetexplainBot

log = logging.getLogger(__name__)

MAGNIFIER = "\N{RIGHT-POINTING MAGNIFYING GLASS}"
WATCH_OFF_WARNING = (
    "Watching is off: NETEXPLAIN_MESSAGE_CONTENT is not enabled, so Discord does not send the text of "
    "ordinary messages. Mentions, DMs, /explain and the context menu still work."
)


def finding_key(finding: Finding) -> str:
    """What counts as "the same thing" for the cooldown: the finding's text, case-folded."""
    return f"{finding.kind}:{finding.text.casefold()}"


class FindingCooldown:
    """(channel, finding) → time until which it is not explained again; bounded and self-pruning."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._until: OrderedDict[tuple[int, str], float] = OrderedDict()

    def fresh(self, channel_id: int, keys: list[str], now: float) -> list[str]:
        """The keys not cooling down in this channel."""
        return [k for k in keys if self._until.get((channel_id, k), 0.0) <= now]

    def start(self, channel_id: int, keys: list[str], now: float, seconds: float) -> None:
        """Cool these keys down in this channel for `seconds`."""
        if seconds <= 0:
            return
        for key in keys:
            self._until[(channel_id, key)] = now + seconds
            self._until.move_to_end((channel_id, key))
        if len(self._until) > self.capacity:
            self._prune(now)

    def _prune(self, now: float) -> None:
        for item, until in list(self._until.items()):
            if until <= now:
                del self._until[item]
        while len(self._until) > self.capacity:
            self._until.popitem(last=False)

    def __len__(self) -> int:
        return len(self._until)


class Watch(commands.Cog):
    """Looks at messages in watched channels and offers help, once per finding per cooldown."""

    def __init__(self, bot: NetexplainBot) -> None:
        self.bot = bot
        self.enabled = bot.config.message_content
        self.cooldown = FindingCooldown()
        # messages we put a 🔎 on and nobody has clicked yet; bounded like the linker
        self.offered: OrderedDict[int, None] = OrderedDict()
        self.offered_capacity = 5_000

    async def cog_load(self) -> None:
        """Say once, clearly, when watching can't work."""
        if not self.enabled:
            log.warning(WATCH_OFF_WARNING)

    def _offer(self, message_id: int) -> None:
        self.offered[message_id] = None
        while len(self.offered) > self.offered_capacity:
            self.offered.popitem(last=False)

    async def consider(self, message: discord.Message, received: float) -> None:
        """Offer help if `message` is in a watched channel and has something to explain.

        Called by the explain cog for every message that is not a question (one `on_message` listener
        for both: discord.py starts a task per listener per message, the bot's own replies included).
        `received` is the `time.perf_counter()` reading when the message arrived.
        """
        if not self.enabled or message.guild is None or message.author.bot or message.webhook_id is not None:
            return
        me = self.bot.user
        if me is None or me.id in message.raw_mentions or not message.content:
            return  # mentions are questions: the explain cog answers those
        settings = await self.bot.store.get(message.guild.id)
        if not settings.watches(message.channel.id):
            return
        explanation = explain_text(self.bot, message.content, passive=True)
        if not explanation.triggered:
            return
        if not self._take_cooldown(message.channel.id, explanation, settings.cooldown_minutes):
            return
        if settings.watch_mode == "react":
            await message.add_reaction(MAGNIFIER)
            self._offer(message.id)
        elif settings.watch_mode == "reply":
            await reply_to(
                self.bot,
                message,
                explanation,
                asker_id=message.author.id,
                style="compact",
                text=message.content,
                entry_point="watch_reply",
                received=received,
            )

    def _take_cooldown(self, channel_id: int, explanation: Explanation, minutes: float | None) -> bool:
        """True (and start the cooldown) when at least one finding was not explained here recently."""
        keys = list(dict.fromkeys(finding_key(f) for f in explanation.findings))
        now = time.monotonic()
        if keys and not self.cooldown.fresh(channel_id, keys, now):
            return False
        seconds = 60.0 * (self.bot.config.watch_cooldown_minutes if minutes is None else minutes)
        self.cooldown.start(channel_id, keys, now, seconds)
        return True

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        """Someone clicked our 🔎: answer the message in full, once."""
        received = time.perf_counter()
        me = self.bot.user
        if me is None or payload.user_id == me.id or str(payload.emoji) != MAGNIFIER:
            return
        if payload.message_id not in self.offered or (payload.member is not None and payload.member.bot):
            return
        del self.offered[payload.message_id]  # first click wins; later clicks see the reply
        channel = self.bot.get_partial_messageable(payload.channel_id, guild_id=payload.guild_id)
        try:
            message = await channel.fetch_message(payload.message_id)
        except discord.NotFound:
            return
        explanation = explain_text(self.bot, message.content)
        if explanation.found_anything:
            await reply_to(
                self.bot,
                message,
                explanation,
                asker_id=payload.user_id,
                style="watched",
                text=message.content,
                entry_point="watch_reaction",
                received=received,
            )


async def setup(bot: NetexplainBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Watch(bot))
