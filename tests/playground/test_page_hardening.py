"""The playground's page API against hostile requests: every body is JSON, and no body crashes it."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.playground.app import Playground
from tests.playground.page_client import PageClient

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def page() -> AsyncIterator[PageClient]:
    async with Playground(start_bot=False) as pg:
        client = PageClient(pg)
        try:
            yield client
        finally:
            await client.close()


async def test_a_deeply_nested_body_is_one_sentence_and_a_400(
    page: PageClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    for path in ("/api/messages", "/api/commands", "/api/knowledge/preview"):
        async with page.session.post(
            page.base + path, data="[" * 100_000, headers={"Content-Type": "application/json"}
        ) as resp:
            assert resp.status == 400, path
            assert (await resp.json())["error"] == "The request body is nested too deeply."
    assert not caplog.records, [r.getMessage() for r in caplog.records]  # nothing logged as our failure


async def test_patch_and_put_bodies_must_be_json_too(page: PageClient) -> None:
    message = await page.ok("POST", "/api/messages", {"channel_id": page.pg.general_id, "content": "hi"})
    url = f"{page.base}/api/messages/{message['id']}"
    async with page.session.patch(url, data="content=x", headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    async with page.session.patch(url, data="content=x") as resp:  # no type at all: a form's default
        assert resp.status == 415
    reaction = f"{url}/reactions/%F0%9F%91%8D"
    async with page.session.put(reaction, data="x", headers={"Content-Type": "text/plain"}) as resp:
        assert resp.status == 415
    async with page.session.put(reaction) as resp:  # the page's own PUT has no body
        assert resp.status == 200
    assert (await page.ok("PATCH", f"/api/messages/{message['id']}", {"content": "edited"}))["id"]
