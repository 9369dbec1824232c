"""A loopback Discord: REST (``/api/v10``) and gateway (``/gateway``) on 127.0.0.1, in memory.

It serves the tests and the playground alike.  The real, unpatched discord.py client talks to this server
after two class attributes are redirected (see :func:`point_discord_py_at`).  Tests and the local
playground page build a small world (guilds, channels, people), make people act (messages, reactions,
slash commands, clicks) and then inspect what the bot did (:attr:`LoopbackDiscord.messages`,
:attr:`LoopbackDiscord.rest_log`, ...).

Discord's rules are reproduced where they change a bot's behaviour: message-content blanking without the
MESSAGE_CONTENT intent, privileged-intent and bad-token close codes, payload size limits (HTTP 400),
``allowed_mentions`` (who would really be pinged), sequence numbers / RESUME, sharding, and rate limits on
demand.  Everything else is deliberately simple.

One concern per module; :class:`LoopbackDiscord` is a stack of mixins, each building on the ones below:

- :mod:`~bot.loopback_discord.protocol`: opcodes, intents, permissions, flags (data only)
- :mod:`~bot.loopback_discord.limits`: Discord's size limits (HTTP 400) and the shape of a 429
- :mod:`~bot.loopback_discord.wire`: JSON responses, error bodies, request bodies, :class:`RestCall`
- :mod:`~bot.loopback_discord.state`: all state, ids, lookups, the subscriber feed, ``wait_for``
- :mod:`~bot.loopback_discord.messages`: building messages, mention rules, what the bot may read
- :mod:`~bot.loopback_discord.gateway`: sessions, heartbeats, IDENTIFY/RESUME, dispatch, sharding
- :mod:`~bot.loopback_discord.world`: creating guilds, channels, people, DM channels
- :mod:`~bot.loopback_discord.people`: people posting, editing, deleting, reacting
- :mod:`~bot.loopback_discord.interactions`: people running commands and clicking; :class:`Interaction`
- :mod:`~bot.loopback_discord.rest_identity`: REST for the bot user, application, gateway, channels, guilds
- :mod:`~bot.loopback_discord.rest_messages`: REST for the bot's messages and reactions
- :mod:`~bot.loopback_discord.rest_interactions`: REST for interaction callbacks and followup webhooks
- :mod:`~bot.loopback_discord.rest_commands`: REST for application commands
- :mod:`~bot.loopback_discord.faults`: injected REST failures, rate limits, dropped gateways
- :mod:`~bot.loopback_discord.server`: :class:`LoopbackDiscord`: lifecycle, route table, REST middleware
"""

from bot.loopback_discord.interactions import Interaction
from bot.loopback_discord.protocol import FLAG_EPHEMERAL
from bot.loopback_discord.server import LoopbackDiscord, bound_port, point_discord_py_at
from bot.loopback_discord.wire import RestCall

__all__ = [
    "FLAG_EPHEMERAL",
    "Interaction",
    "LoopbackDiscord",
    "RestCall",
    "bound_port",
    "point_discord_py_at",
]
