"""Discord's wire vocabulary for the loopback Discord: API prefix, opcodes, intents, permissions, flags.

Numbers from https://discord.com/developers/docs/topics/opcodes-and-status-codes,
https://discord.com/developers/docs/topics/gateway#gateway-intents and
https://discord.com/developers/docs/topics/permissions.  Nothing here has behaviour.
"""

from __future__ import annotations

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Gateway opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_PRESENCE, OP_RESUME = 0, 1, 2, 3, 6
OP_RECONNECT, OP_REQUEST_MEMBERS, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 8, 9, 10, 11

# Intent bits.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

# Permission bits used to build roles.
PERM_ADD_REACTIONS = 1 << 6
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_MANAGE_MESSAGES = 1 << 13
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_HISTORY = 1 << 16
PERM_MENTION_EVERYONE = 1 << 17
PERM_EXTERNAL_EMOJIS = 1 << 18
PERM_USE_APP_COMMANDS = 1 << 31
PERM_SEND_IN_THREADS = 1 << 38
PERM_MANAGE_GUILD = 0x20
EVERYONE_PERMS = (
    PERM_ADD_REACTIONS
    | PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_HISTORY
    | PERM_EXTERNAL_EMOJIS
    | PERM_USE_APP_COMMANDS
    | PERM_SEND_IN_THREADS
)
BOT_ROLE_PERMS = EVERYONE_PERMS | PERM_MANAGE_MESSAGES

# Message flags.
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Interaction types and callback types.
ITYPE_COMMAND, ITYPE_COMPONENT, ITYPE_AUTOCOMPLETE = 2, 3, 4
CB_PONG, CB_MESSAGE, CB_DEFER, CB_DEFER_UPDATE, CB_UPDATE, CB_AUTOCOMPLETE, CB_MODAL = 1, 4, 5, 6, 7, 8, 9
