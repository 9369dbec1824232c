"""`/livez`, `/readyz`, `/healthz` and `/metrics` answer only Host names DNS rebinding cannot forge."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from bot.client import NetexplainBot
from bot.config import Config, ConfigError, load_config
from bot.health import HealthServer, host_allowed
from bot.store import SQLiteSettingsStore
from tests.deploy.ops import free_port


@pytest.mark.parametrize(
    ("host", "names", "allowed"),
    [
        ("127.0.0.1:8080", (), True),  # the container's HEALTHCHECK, `python -m bot.health`
        ("[::1]:8080", (), True),
        ("localhost:8080", (), True),
        ("LOCALHOST.:8080", (), True),
        ("10.0.3.7:8080", (), True),  # Prometheus (or a kubelet) scraping the target by address
        ("[fd00::7]:9100", (), True),
        (None, (), True),  # an HTTP/1.0 tool: no browser sends a request without a Host
        ("evil.example:8080", (), False),  # a page whose own name was rebound to this address
        ("127.0.0.1.nip.io:8080", (), False),
        ("bot:8080", (), False),  # the compose service name: allowed only when configured
        ("bot:8080", ("bot",), True),
        ("metrics.internal", ("metrics.internal",), True),
        ("[::1", (), False),
    ],
)
def test_which_host_headers_are_answered(host: str | None, names: tuple[str, ...], allowed: bool) -> None:
    assert host_allowed(host, frozenset(names)) is allowed


def test_the_allowed_names_are_configured_and_checked() -> None:
    config = load_config({"NETEXPLAIN_HEALTH_ALLOWED_HOSTS": "bot, Metrics.Internal."})
    assert config.health_allowed_hosts == {"bot", "metrics.internal"}
    assert load_config({}).health_allowed_hosts == frozenset()
    with pytest.raises(ConfigError, match="NETEXPLAIN_HEALTH_ALLOWED_HOSTS"):
        load_config({"NETEXPLAIN_HEALTH_ALLOWED_HOSTS": "http://bot:8080/"})


async def test_a_rebound_name_is_refused_on_every_path(tmp_path: Path) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    bot = NetexplainBot(Config(db_path=tmp_path / "s.sqlite3"), store=store)
    port = free_port()
    server = await HealthServer(bot, "127.0.0.1", port, frozenset({"bot"})).start()
    try:
        async with aiohttp.ClientSession() as session:
            for path in ("/livez", "/readyz", "/healthz", "/metrics"):
                url = f"http://127.0.0.1:{port}{path}"
                async with session.get(url, headers={"Host": f"rebound.example:{port}"}) as resp:
                    assert resp.status == 403, path
                    assert "NETEXPLAIN_HEALTH_ALLOWED_HOSTS" in (await resp.json())["error"]
                for host in (f"127.0.0.1:{port}", f"bot:{port}", f"localhost:{port}"):
                    async with session.get(url, headers={"Host": host}) as resp:
                        assert resp.status in (200, 503), (path, host)  # 503: not connected, not refused
    finally:
        await server.stop()
        await bot.close()
