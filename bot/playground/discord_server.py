"""The loopback Discord's former address; it now lives in :mod:`bot.loopback_discord`.

Kept so imports written against the old path (in branches under way) and
``python -m bot.playground.discord_server`` keep working.  New code imports :mod:`bot.loopback_discord`.
"""

from bot.loopback_discord import (
    FLAG_EPHEMERAL,
    Interaction,
    LoopbackDiscord,
    RestCall,
    bound_port,
    point_discord_py_at,
)
from bot.loopback_discord.server import main

__all__ = [
    "FLAG_EPHEMERAL",
    "Interaction",
    "LoopbackDiscord",
    "RestCall",
    "bound_port",
    "point_discord_py_at",
]

if __name__ == "__main__":
    main()
