"""`/netexplain`: a server's watch settings (Manage Server) and an owner-only `sync`; `/about` for everyone.

Discord applies `default_permissions` to top-level commands only, so the privacy note can't be a
subcommand of the Manage Server group and still reach everyone: it is its own command.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot.render import render_notice
from bot.store import GuildSettings

if TYPE_CHECKING:
    from bot.client import NetexplainBot

log = logging.getLogger(__name__)

ABOUT = """\
I explain the addresses, ports, URLs and socket errors people paste into chat \
(`127.0.0.1:62893`, `http://localhost:5173`, `ECONNREFUSED ::1:5432`, "port 5432").
Ask by mentioning me, in a DM, with `/explain`, or with Apps → **Explain this message**.

**What I read:** messages that mention me, DMs to me, what you give `/explain` or the context menu, and, \
only where a server's admins turned watching on and the operator enabled it, messages in watched channels.
**What I store:** each server's settings (watch mode, watched channels, cooldown). No messages, no users.
**What I keep in memory only** (gone on restart, oldest forgotten first): which of my answers belongs to \
which question, so answers follow edits and deletes, and, for watching, what was explained recently in \
each channel.
**What I log:** ids and errors; message text only if the operator turns on NETEXPLAIN_LOG_CONTENT.
**What I look up:** nothing. Answers come from a built-in knowledge base; I never contact the \
addresses you paste or any lookup service."""


def _describe(settings: GuildSettings, default_cooldown: float, watching_possible: bool) -> str:
    channels = ", ".join(f"<#{cid}>" for cid in sorted(settings.channel_ids)) or "none"
    cooldown = settings.cooldown_minutes if settings.cooldown_minutes is not None else default_cooldown
    lines = [
        f"Watch mode: **{settings.watch_mode}**",
        f"Watched channels: {channels}",
        f"Cooldown: **{cooldown:g}** minutes per finding per channel",
    ]
    if not watching_possible:
        lines.append("⚠ The operator has not enabled message content, so nothing is watched yet.")
    return "\n".join(lines)


async def _is_owner(interaction: discord.Interaction[Any]) -> bool:
    return await interaction.client.is_owner(interaction.user)  # type: ignore[attr-defined, no-any-return]


class Settings(commands.Cog):
    """Per-server settings for watching, command sync for the owner, and the privacy note for everyone."""

    netexplain = app_commands.Group(
        name="netexplain",
        description="netexplain settings for this server",
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )
    channels = app_commands.Group(
        name="channels", description="Channels netexplain watches", parent=netexplain
    )

    def __init__(self, bot: NetexplainBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="about", description="What netexplain does, and what it reads, stores and logs"
    )
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.allowed_installs(guilds=True, users=True)
    async def about(self, interaction: discord.Interaction[Any]) -> None:
        """The privacy note, for anyone, anywhere the app is."""
        await interaction.response.send_message(
            embed=render_notice(ABOUT, title="About netexplain"), ephemeral=True
        )

    async def _reply(self, interaction: discord.Interaction[Any], settings: GuildSettings, done: str) -> None:
        text = (
            done
            + "\n\n"
            + _describe(settings, self.bot.config.watch_cooldown_minutes, self.bot.config.message_content)
        )
        await interaction.response.send_message(embed=render_notice(text, title="Settings"), ephemeral=True)

    @netexplain.command(name="watch", description="How to help in watched channels: react, reply or off")
    @app_commands.describe(mode="react: add 🔎 for people to click; reply: answer briefly; off: do nothing")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def watch(
        self, interaction: discord.Interaction[Any], mode: Literal["react", "reply", "off"]
    ) -> None:
        """Set the watch mode."""
        assert interaction.guild_id is not None
        settings = await self.bot.store.set_watch_mode(interaction.guild_id, mode)
        await self._reply(interaction, settings, f"Watch mode set to **{mode}**.")

    @channels.command(name="add", description="Watch a channel (default: this one)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def channels_add(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel | None = None
    ) -> None:
        """Start watching a channel."""
        assert interaction.guild_id is not None
        channel_id = channel.id if channel is not None else interaction.channel_id
        assert channel_id is not None
        settings = await self.bot.store.set_channel(interaction.guild_id, channel_id, True)
        await self._reply(interaction, settings, f"Now watching <#{channel_id}>.")

    @channels.command(name="remove", description="Stop watching a channel (default: this one)")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def channels_remove(
        self, interaction: discord.Interaction[Any], channel: discord.TextChannel | None = None
    ) -> None:
        """Stop watching a channel."""
        assert interaction.guild_id is not None
        channel_id = channel.id if channel is not None else interaction.channel_id
        assert channel_id is not None
        settings = await self.bot.store.set_channel(interaction.guild_id, channel_id, False)
        await self._reply(interaction, settings, f"No longer watching <#{channel_id}>.")

    @channels.command(name="list", description="Show the watched channels and settings")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def channels_list(self, interaction: discord.Interaction[Any]) -> None:
        """Show this server's settings."""
        assert interaction.guild_id is not None
        settings = await self.bot.store.get(interaction.guild_id)
        await self._reply(interaction, settings, "This server's settings:")

    @netexplain.command(name="cooldown", description="Minutes before the same finding is explained again")
    @app_commands.describe(minutes="0 explains every time; the default is the operator's setting")
    @app_commands.checks.has_permissions(manage_guild=True)
    async def cooldown(
        self, interaction: discord.Interaction[Any], minutes: app_commands.Range[int, 0, 1440]
    ) -> None:
        """Set the per-channel, per-finding cooldown."""
        assert interaction.guild_id is not None
        settings = await self.bot.store.set_cooldown(interaction.guild_id, float(minutes))
        await self._reply(interaction, settings, f"Cooldown set to **{minutes}** minutes.")

    @netexplain.command(name="sync", description="Owner only: publish the slash commands")
    @app_commands.describe(scope="here: this server, at once; global: everywhere, may take a while")
    @app_commands.check(_is_owner)
    async def sync(
        self, interaction: discord.Interaction[Any], scope: Literal["here", "global"] = "here"
    ) -> None:
        """Sync the command tree (Discord allows 200 creates a day per server, so never on start)."""
        await interaction.response.defer(ephemeral=True, thinking=True)
        if scope == "here" and interaction.guild is not None:
            self.bot.tree.copy_global_to(guild=interaction.guild)
            synced = await self.bot.tree.sync(guild=interaction.guild)
            where = "to this server"
        else:
            synced = await self.bot.tree.sync()
            where = "globally"
        log.info("synced %d commands %s at the owner's request", len(synced), where)
        await interaction.followup.send(f"Synced {len(synced)} commands {where}.", ephemeral=True)


async def setup(bot: NetexplainBot) -> None:
    """Extension entry point."""
    await bot.add_cog(Settings(bot))
