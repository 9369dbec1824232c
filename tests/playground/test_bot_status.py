"""When the bot can't start, the page says why in the bot's own sentence; a fixed file brings it back."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.playground.app import Playground
from tests.bot.harness import embed_text
from tests.playground.page_client import PageClient

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]

REPO = Path(__file__).resolve().parents[2]


async def test_a_bot_that_cannot_start_is_offline_with_its_reason_until_the_knowledge_is_fixed(
    tmp_path: Path,
) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    broken = knowledge / "terms" / "localhost.yaml"
    original = broken.read_text(encoding="utf-8")
    broken.write_text(original.replace("title: localhost\n", ""), encoding="utf-8")
    lines: list[str] = []
    async with Playground(knowledge=knowledge, echo=lines.append) as pg:
        client = PageClient(pg)
        try:
            hello = await client.connect()
            assert hello["knowledge"]["error"]["file"] == "terms/localhost.yaml"
            offline = await client.wait_event(
                lambda e: e["type"] == "bot_status" and e["status"] == "offline", timeout=60
            )
            assert "localhost.yaml" in offline["detail"], offline  # the bot's one-sentence failure
            assert "Traceback" not in "\n".join(lines)

            broken.write_text(original, encoding="utf-8")
            since = client.mark()
            state = await client.ok("POST", "/api/knowledge/reload", {})
            assert state["error"] is None and state["bot_restarting"] is True
            await client.wait_event(
                lambda e: e["type"] == "bot_status" and e["status"] == "online", since=since, timeout=60
            )
            # The world was set up on this first successful start: #help is watched, sam asked.
            seed = await client.wait_event(
                lambda e: e["type"] == "message_create" and e["message"]["author"]["name"] == "sam",
                since=since,
            )
            assert seed["message"]["channel_id"] == pg.watched_id
            since = client.mark()
            question = await client.ok(
                "POST", "/api/messages", {"channel_id": pg.general_id, "content": "@netexplain localhost"}
            )
            reply = await client.bot_message(since=since, channel=pg.general_id, reply_to=question["id"])
            assert "localhost" in embed_text(reply)
        finally:
            await client.close()
