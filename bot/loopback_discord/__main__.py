"""``python -m bot.loopback_discord [PORT]``: serve a demo world for manual runs of the bot."""

from bot.loopback_discord.server import main

main()
