"""Only the bot may use the loopback Discord: a secret token per run, its own Host, no other site's Origin.

A web page open in the same browser as the playground must not be able to read the playground's messages
through the gateway or act as the bot through REST (issue 16, item 5).
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.loopback_discord import LoopbackDiscord

OP_IDENTIFY, OP_HELLO = 2, 10


def _identify(token: str) -> str:
    return json.dumps({"op": OP_IDENTIFY, "d": {"token": token, "intents": 0, "properties": {}}})


async def _rest(server: LoopbackDiscord, *, token: str | None = None, **headers: str) -> int:
    headers.setdefault("Authorization", f"Bot {token or server.token}")
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.api_base}/users/@me", headers=headers) as resp,
    ):
        return resp.status


async def _first_dispatch(server: LoopbackDiscord, token: str, **headers: str) -> dict[str, Any]:
    """HELLO, IDENTIFY with ``token``, and the next frame (READY) or the close frame's code."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(server.gateway_url, headers=headers) as ws,
    ):
        hello = json.loads((await ws.receive(timeout=5)).data)
        assert hello["op"] == OP_HELLO
        await ws.send_str(_identify(token))
        msg = await ws.receive(timeout=5)
        if msg.type is aiohttp.WSMsgType.TEXT:
            return dict(json.loads(msg.data))
        return {"close_code": ws.close_code}


def test_each_server_makes_up_its_own_secret_token() -> None:
    tokens = {LoopbackDiscord().token for _ in range(3)}
    assert len(tokens) == 3
    assert all(len(t) >= 32 for t in tokens)
    assert "loopback-token" not in tokens  # the old fixed, public token


def test_a_chosen_token_is_kept() -> None:
    assert LoopbackDiscord(token="chosen-by-test").token == "chosen-by-test"


async def test_rest_answers_the_bot_on_its_own_host_names(server: LoopbackDiscord) -> None:
    assert await _rest(server) == 200
    assert await _rest(server, Host=f"localhost:{server.port}") == 200
    assert await _rest(server, Origin=f"http://127.0.0.1:{server.port}") == 200


async def test_rest_refuses_a_rebound_host(server: LoopbackDiscord) -> None:
    before = len(server.rest_log)
    assert await _rest(server, Host=f"rebound.example:{server.port}") == 403
    assert await _rest(server, Host=f"127.0.0.1:{server.port + 1}") == 403
    assert len(server.rest_log) == before  # not the bot's calls: nothing recorded


async def test_rest_refuses_another_sites_origin(server: LoopbackDiscord) -> None:
    assert await _rest(server, Origin="http://evil.example") == 403
    assert await _rest(server, Origin=f"http://localhost:{server.port}") == 403  # not the Host it named


async def test_rest_refuses_a_wrong_token(server: LoopbackDiscord) -> None:
    assert await _rest(server, token="loopback-token") == 401
    assert server.rest_log[-1].status == 401


async def test_gateway_identifies_the_bot_with_the_runs_token(server: LoopbackDiscord) -> None:
    frame = await _first_dispatch(server, server.token)
    assert frame["t"] == "READY"


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "http://evil.example"}, {"Host": "rebound.example:80"}, {"Origin": "null"}],
    ids=["foreign-origin", "rebound-host", "opaque-origin"],
)
async def test_gateway_handshake_from_a_web_page_elsewhere_is_refused(
    server: LoopbackDiscord, headers: dict[str, str]
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _first_dispatch(server, server.token, **headers)
    assert refused.value.status == 403
    assert server.gateway_connects == 0


async def test_gateway_closes_4004_on_a_wrong_token(server: LoopbackDiscord) -> None:
    assert await _first_dispatch(server, "loopback-token") == {"close_code": 4004}
    assert not server._sessions
