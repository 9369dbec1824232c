"""Structure: every extension loads, command names don't collide, nothing syncs on start."""

from __future__ import annotations

from pathlib import Path

from discord import app_commands

from bot.client import NetexplainBot, discover_extensions
from bot.config import Config
from bot.store import SQLiteSettingsStore


async def test_every_cog_loads_and_command_names_are_unique(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(":memory:").open()
    bot = NetexplainBot(Config(db_path=tmp_path / "unused.sqlite3"), store=store)
    await bot.setup_hook()  # what login() runs: knowledge, extensions; no network
    try:
        assert (
            set(bot.extensions)
            == set(discover_extensions())
            == {
                "bot.cogs.explain",
                "bot.cogs.settings",
                "bot.cogs.watch",
            }
        )
        commands = bot.tree.get_commands()
        keys = [(c.name, type(c).__name__) for c in commands]
        assert len(keys) == len(set(keys))
        assert {c.name for c in commands} == {"explain", "netexplain", "about", "Explain this message"}
        explain = bot.tree.get_command("explain")
        assert isinstance(explain, app_commands.Command)
        assert explain.allowed_contexts is not None and explain.allowed_contexts.private_channel
        assert explain.allowed_installs is not None and explain.allowed_installs.user
        group = bot.tree.get_command("netexplain")
        assert isinstance(group, app_commands.Group)
        assert group.default_permissions is not None and group.default_permissions.manage_guild
        assert "about" not in {c.name for c in group.commands}  # under the group, members could not see it
        about = bot.tree.get_command("about")
        assert isinstance(about, app_commands.Command) and about.default_permissions is None
        assert not (tmp_path / "unused.sqlite3").exists()
    finally:
        await bot.close()


def test_intents_are_default_unless_watching_is_enabled(tmp_path: Path) -> None:
    plain = NetexplainBot(Config(db_path=tmp_path / "a"))
    watching = NetexplainBot(Config(db_path=tmp_path / "a", message_content=True))
    assert not plain.intents.message_content and not plain.intents.members and not plain.intents.presences
    assert watching.intents.message_content
    mentions = plain.allowed_mentions
    assert mentions is not None and mentions.to_dict() == {"parse": []}
