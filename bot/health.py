"""`/healthz` and `/metrics` on an opt-in local port (`NETEXPLAIN_HEALTH_PORT`, 127.0.0.1 by default).

`/healthz` answers 200 when the gateway is connected, the settings database accepts a write and the
knowledge base is loaded, else 503; the JSON body says which check failed. `/metrics` is the
Prometheus text format from `bot.metrics`. Nothing here is reachable from outside unless the operator
sets `NETEXPLAIN_HEALTH_HOST` to a public address.

`python -m bot.health` is the container's HEALTHCHECK: it asks `/healthz` of the running bot and exits
0 (healthy) or 1, without curl in the image.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import ConfigError, load_config
from bot.metrics import CONTENT_TYPE

if TYPE_CHECKING:
    from bot.client import NetexplainBot

log = logging.getLogger(__name__)

DB_CHECK_TIMEOUT = 3.0


class HealthServer:
    """The aiohttp app serving `/healthz` and `/metrics` for one bot."""

    def __init__(self, bot: NetexplainBot, host: str, port: int) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/healthz", self.healthz)
        app.router.add_get("/metrics", self.metrics)
        self.app = app

    async def start(self) -> HealthServer:
        """Listen; raises OSError when the port is taken."""
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        log.info("health and metrics on http://%s:%d/healthz and /metrics", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def checks(self) -> dict[str, dict[str, Any]]:
        """Each check's `ok` and a short detail."""
        bot = self.bot
        gateway = bot.gateway_connected()
        result: dict[str, dict[str, Any]] = {
            "gateway": {"ok": gateway and not bot.draining, "detail": _gateway_detail(bot, gateway)},
            "knowledge": {"ok": bot.knowledge_loaded, "detail": bot.knowledge_summary()},
        }
        try:
            await asyncio.wait_for(bot.store.check_writable(), DB_CHECK_TIMEOUT)
        except Exception as exc:
            detail = "not opened yet" if isinstance(exc, RuntimeError) else f"{type(exc).__name__}: {exc}"
            result["database"] = {"ok": False, "detail": detail}
        else:
            result["database"] = {"ok": True, "detail": "writable"}
        return result

    async def healthz(self, request: web.Request) -> web.Response:
        checks = await self.checks()
        healthy = all(check["ok"] for check in checks.values())
        body = {"status": "ok" if healthy else "unhealthy", "checks": checks}
        return web.json_response(body, status=200 if healthy else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.bot.metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})


def _gateway_detail(bot: NetexplainBot, connected: bool) -> str:
    if bot.draining:
        return "shutting down"
    if not connected:
        return "not connected"
    return f"connected, {len(bot.guilds)} servers"


def probe(argv: list[str] | None = None) -> int:
    """Exit 0 when the running bot's `/healthz` says ok (the Docker HEALTHCHECK), else 1."""
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"netexplain health: {exc}", file=sys.stderr)
        return 1
    if config.health_port is None:
        print(
            "netexplain health: NETEXPLAIN_HEALTH_PORT is not set, so there is nothing to ask.",
            file=sys.stderr,
        )
        return 1
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(config.health_host, config.health_host)
    url = f"http://{f'[{host}]' if ':' in host else host}:{config.health_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as exc:
        print(f"netexplain health: unhealthy: {exc.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"netexplain health: {url} did not answer: {exc}", file=sys.stderr)
        return 1
    status = json.loads(body).get("status")
    print(f"netexplain health: {status}")
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(probe(sys.argv[1:]))
