"""The loopback Discord enforces Discord's session start rules: 4011 for a shard holding too many
guilds, one IDENTIFY per `max_concurrency` bucket per 5 seconds, and the daily session start budget."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.loopback_discord import LoopbackDiscord
from tests.deploy.ops import guild_on_shard

OP_INVALID_SESSION = 9


async def identify(server: LoopbackDiscord, shard: list[int] | None = None, token: str | None = None) -> Any:
    """Connect, IDENTIFY, and return what came back first: a dispatch, an op 9, or the close code."""
    async with aiohttp.ClientSession() as session, session.ws_connect(server.gateway_url) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["op"] == 10
        data: dict[str, Any] = {"token": token or server.token, "intents": 1, "properties": {}}
        if shard is not None:
            data["shard"] = shard
        await ws.send_str(json.dumps({"op": 2, "d": data}))
        msg = await ws.receive(timeout=5)
        if msg.type is aiohttp.WSMsgType.TEXT:
            frame = json.loads(msg.data)
            return frame["t"] if frame["op"] == 0 else ("op", frame["op"])
        return ("close", ws.close_code)


async def test_a_shard_over_the_guild_limit_is_closed_with_4011() -> None:
    async with LoopbackDiscord(guilds_per_shard=2) as server:
        for _ in range(3):
            server.create_guild()
        assert await identify(server) == ("close", 4011)  # unsharded: all three on shard 0
        assert await identify(server, [0, 1]) == ("close", 4011)
        assert server.identify_log == [] and server.session_starts_remaining == 1000
    async with LoopbackDiscord() as server:  # the same guilds spread over two shards fit
        guild_on_shard(server, 0, 2)
        guild_on_shard(server, 1, 2)
        per_shard = [sum(1 for g in server.guilds if (int(g) >> 22) % 2 == s) for s in (0, 1)]
        server.guilds_per_shard = max(per_shard)
        assert sum(per_shard) > server.guilds_per_shard
        assert await identify(server, [0, 2]) == "READY"
        assert await identify(server, [1, 2]) == "READY"
        assert await identify(server) == ("close", 4011)


async def test_identifies_of_one_bucket_within_5_seconds_get_invalid_session() -> None:
    async with LoopbackDiscord(shard_count=4, max_concurrency=2, enforce_identify_rate=True) as server:
        assert await identify(server, [0, 4]) == "READY"
        assert await identify(server, [1, 4]) == "READY"  # bucket 1: its own turn
        assert await identify(server, [2, 4]) == ("op", OP_INVALID_SESSION)  # bucket 0 again, too soon
        assert server.identifies_too_fast == 1
        assert [shard for _, shard, _ in server.identify_log] == [0, 1]
        assert server.session_starts_remaining == 998  # a refused IDENTIFY costs no session start
        async with aiohttp.ClientSession() as session:
            headers = {"Authorization": f"Bot {server.token}"}
            async with session.get(f"{server.api_base}/gateway/bot", headers=headers) as resp:
                limits = (await resp.json())["session_start_limit"]
        assert limits["max_concurrency"] == 2 and limits["remaining"] == 998 and limits["total"] == 1000
    async with LoopbackDiscord(shard_count=2) as server:  # not enforced unless asked: tests restart fast
        assert await identify(server, [0, 2]) == "READY"
        assert await identify(server, [0, 2]) == "READY"


async def test_running_out_of_session_starts_resets_the_token() -> None:
    async with LoopbackDiscord(session_start_limit=2) as server:
        token = server.token
        assert await identify(server) == "READY"
        assert await identify(server) == "READY"
        assert server.session_starts_remaining == 0
        assert await identify(server) == ("close", 4004)
        assert server.token != token  # as Discord resets a token that ran out of session starts
        assert await identify(server, token=server.token) == ("close", 4004)  # still none left
