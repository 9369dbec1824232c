"""Probes and `/metrics` on an opt-in local port (`NETEXPLAIN_HEALTH_PORT`, 127.0.0.1 by default).

- `/livez`: 200 while the event loop answers. A gateway reconnect is not a liveness failure: restarting
  the process would only spend another of Discord's daily session starts.
- `/readyz`: 200 when every shard of this process is connected (and not shutting down), the settings
  database accepts a write within `PROBE_TIMEOUT` and has the schema version this code knows, and the
  knowledge base is loaded; else 503. The JSON body says which check failed.
- `/healthz`: the same as `/readyz` (the name older set-ups probe).
- `/metrics`: the Prometheus text format from `bot.metrics`.

Nothing here is reachable from outside unless the operator sets `NETEXPLAIN_HEALTH_HOST` to a public
address. Against DNS rebinding (a web page whose own name resolves to this address), a request is
answered only when its Host is an IP address, `localhost`, or a name in
`NETEXPLAIN_HEALTH_ALLOWED_HOSTS`; others get 403.

`python -m bot.health [livez|readyz]` asks the running bot (the container's HEALTHCHECK asks `/livez`)
and exits 0 or 1, without curl in the image.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import sys
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import ConfigError, load_config
from bot.metrics import CONTENT_TYPE
from bot.store import PROBE_TIMEOUT, SCHEMA_VERSION

if TYPE_CHECKING:
    from bot.client import NetexplainBot

log = logging.getLogger(__name__)

DB_CHECK_TIMEOUT = PROBE_TIMEOUT * 3  # the store gives up first; this bounds a hung connection too
PROBES = ("livez", "readyz", "healthz")


class HealthServer:
    """The aiohttp app serving the probes and `/metrics` for one bot."""

    def __init__(
        self, bot: NetexplainBot, host: str, port: int, allowed_hosts: frozenset[str] = frozenset()
    ) -> None:
        """`allowed_hosts`: host names answered besides IP addresses and `localhost`."""
        self.bot = bot
        self.host = host
        self.port = port
        self.allowed_hosts = allowed_hosts
        self._runner: web.AppRunner | None = None
        app = web.Application(middlewares=[self._known_hosts_only])
        app.router.add_get("/livez", self.livez)
        app.router.add_get("/readyz", self.readyz)
        app.router.add_get("/healthz", self.readyz)
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
        log.info("probes and metrics on http://%s:%d/livez, /readyz and /metrics", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def checks(self) -> dict[str, dict[str, Any]]:
        """Each readiness check's `ok` and a short detail."""
        bot = self.bot
        gateway = bot.gateway_connected()
        result: dict[str, dict[str, Any]] = {
            "gateway": {"ok": gateway and not bot.draining, "detail": _gateway_detail(bot, gateway)},
            "knowledge": {"ok": bot.knowledge_loaded, "detail": bot.knowledge_summary()},
        }
        try:
            version = await asyncio.wait_for(bot.store.probe(), DB_CHECK_TIMEOUT)
        except Exception as exc:
            if isinstance(exc, RuntimeError) and "open" in str(exc):
                detail = "not opened yet"
            elif isinstance(exc, TimeoutError):
                detail = f"no answer within {DB_CHECK_TIMEOUT:g}s"
            else:
                detail = f"{type(exc).__name__}: {exc}"
            result["database"] = {"ok": False, "detail": detail}
        else:
            ok = version == SCHEMA_VERSION
            detail = f"writable, schema version {version}" + (
                "" if ok else f" (this code needs {SCHEMA_VERSION})"
            )
            result["database"] = {"ok": ok, "detail": detail}
        return result

    @web.middleware
    async def _known_hosts_only(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), self.allowed_hosts):
            sentence = "This host name is not one of NETEXPLAIN_HEALTH_ALLOWED_HOSTS."
            return web.json_response({"status": "refused", "error": sentence}, status=403)
        return await handler(request)

    async def livez(self, request: web.Request) -> web.Response:
        """The event loop ran this handler: alive, whatever the gateway is doing."""
        return web.json_response({"status": "ok"})

    async def readyz(self, request: web.Request) -> web.Response:
        checks = await self.checks()
        ready = all(check["ok"] for check in checks.values())
        body = {"status": "ok" if ready else "unhealthy", "checks": checks}
        return web.json_response(body, status=200 if ready else 503)

    async def metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.bot.metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE})


def host_allowed(header: str | None, names: frozenset[str]) -> bool:
    """Whether a request's Host header names this server in a way DNS rebinding cannot forge.

    A page that rebinds its own name to this address still sends its own name; an IP address (how
    probes and Prometheus usually reach a target) or `localhost` cannot be an attacker's name. No
    Host at all (HTTP/1.0 tools) is no browser's request either.
    """
    if not header:
        return True
    host = header.strip().lower()
    if host.startswith("["):
        name = host[1 : host.find("]")] if "]" in host else ""
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    name = name.rstrip(".")
    if name == "localhost" or name.endswith(".localhost") or name in names:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _gateway_detail(bot: NetexplainBot, connected: bool) -> str:
    if bot.draining:
        return "shutting down"
    down = bot.shards_down()
    if not connected:
        if down:
            return "not connected: shard " + ", ".join(str(shard) for shard in down)
        return "not connected"
    return f"connected, {len(bot.guilds)} servers"


def probe(argv: list[str] | None = None) -> int:
    """Exit 0 when the running bot's `/livez` (or the probe named in `argv`) says ok, else 1."""
    args = list(argv or [])
    which = args[0] if args else "livez"
    if which not in PROBES or len(args) > 1:
        print(f"usage: python -m bot.health [{'|'.join(PROBES)}]", file=sys.stderr)
        return 2
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
    url = f"http://{f'[{host}]' if ':' in host else host}:{config.health_port}/{which}"
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
    print(f"netexplain health: {which} {status}")
    return 0 if status == "ok" else 1


if __name__ == "__main__":
    sys.exit(probe(sys.argv[1:]))
