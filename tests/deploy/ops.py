"""Helpers for the operations tests: free ports, HTTP to the health port, Prometheus text parsed."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.loopback_discord import LoopbackDiscord


def free_port() -> int:
    """A TCP port nobody listens on right now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def http_get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def probe_json(port: int, probe: str) -> tuple[int, dict[str, Any]]:
    """`/livez`, `/readyz` or `/healthz` of the bot on `port`: status code and JSON body."""
    status, _, body = await http_get(f"http://127.0.0.1:{port}/{probe}")
    return status, json.loads(body)


async def healthz(port: int) -> tuple[int, dict[str, Any]]:
    """`/healthz` (the same as `/readyz`) of the bot on `port`: status code and JSON body."""
    return await probe_json(port, "healthz")


async def wait_healthy(port: int, timeout: float = 20.0) -> dict[str, Any]:
    """Poll `/healthz` until it answers 200 (the health port opens before the gateway connects)."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            status, body = await healthz(port)
        except aiohttp.ClientError as exc:
            last = exc
        else:
            if status == 200:
                return body
            last = body
        await asyncio.sleep(0.1)
    raise AssertionError(f"/healthz on {port} never became healthy: {last}")


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """`/metrics` parsed by prometheus_client's own parser: (sample name, sorted labels) → value."""
    status, content_type, body = await http_get(f"http://127.0.0.1:{port}/metrics")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def metric(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    """One sample's value (KeyError when the series is missing)."""
    return samples[(name, tuple(sorted(labels.items())))]


def guild_on_shard(server: LoopbackDiscord, shard_id: int, count: int) -> str:
    """Create guilds until one lands on `shard_id` of `count` (snowflakes are time-based); its id."""
    for _ in range(10_000):
        guild = server.create_guild(f"shard {shard_id} server")["id"]
        if (int(guild) >> 22) % count == shard_id:
            return str(guild)
        server._last_snowflake += 1 << 22  # next millisecond: the shard number moves on
    raise AssertionError("no guild landed on the shard")
