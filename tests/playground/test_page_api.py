"""The playground's HTTP and websocket API, driven as the page drives it, with the real bot behind it.

One playground (loopback Discord + `python -m bot.cli run` as a child process) serves the module; its
knowledge base is a copy, so the last test can edit the YAML and reload.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.playground.app import MAGNIFIER, Playground
from tests.bot.harness import embed_text
from tests.playground.page_client import PageClient, button_ids

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Page:
    pg: Playground
    client: PageClient
    hello: dict[str, Any]

    @property
    def general(self) -> str:
        return self.pg.general_id

    @property
    def help(self) -> str:
        return self.pg.watched_id

    async def say(self, channel: str, content: str, **extra: Any) -> str:
        """Post as you; the new message's id."""
        data = await self.client.ok(
            "POST", "/api/messages", {"channel_id": channel, "content": content, **extra}
        )
        return str(data["id"])

    async def click(self, message: dict[str, Any], label: str) -> Any:
        """Press a button on a bot message, as soon as the bot can handle it.

        The page sees the bot's message before the bot has read the answer to its own REST call, and
        discord.py attaches the buttons' handlers only then; a click in between gets no response (on
        Discord too, but no person clicks that fast). So a click that got none is made again.
        """
        body = {"message_id": message["id"], "custom_id": button_ids(message)[label]}
        for _ in range(3):
            result = await self.client.ok("POST", "/api/components", body)
            if result.get("ok"):
                break
        return result

    async def ask(self, channel: str, content: str) -> tuple[str, dict[str, Any]]:
        """Post as you and wait for the bot's reply threaded on it."""
        since = self.client.mark()
        question = await self.say(channel, content)
        reply = await self.client.bot_message(since=since, channel=channel, reply_to=question)
        return question, reply


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def page(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Page]:
    knowledge = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    lines: list[str] = []
    async with Playground(knowledge=knowledge, echo=lines.append) as pg:
        client = PageClient(pg)
        try:
            hello = await client.connect()
            if hello["bot_status"]["status"] != "online":
                await client.wait_event(
                    lambda e: e["type"] == "bot_status" and e["status"] == "online", timeout=60
                )
            yield Page(pg, client, hello)
        finally:
            await client.close()
    log = "\n".join(lines)
    assert "Traceback" not in log, log


async def test_the_snapshot_describes_the_world_the_page_draws(page: Page) -> None:
    hello = page.hello
    names = {c["name"]: c["watched"] for c in hello["guild"]["channels"]}
    assert names == {"general": False, "help": True}
    assert hello["dm"]["name"] == "netexplain" and hello["you"] == page.pg.you_id
    assert hello["knowledge"]["error"] is None and len(hello["knowledge"]["entries"]) > 50


async def test_the_bot_publishes_its_commands_and_the_page_flattens_them(page: Page) -> None:
    state = await page.client.ok("GET", "/api/state")
    slash = {" ".join(c["path"]): c for c in state["commands"]["slash"]}
    query = slash["explain"]["options"][0]
    assert query["name"] == "query" and query["required"] and query["autocomplete"]
    assert "netexplain channels add" in slash and "netexplain watch" in slash
    assert state["commands"]["message"] == ["Explain this message"]


async def test_a_mention_gets_a_threaded_answer_on_the_websocket(page: Page) -> None:
    question, reply = await page.ask(page.general, "@netexplain what is 127.0.0.1:62893?")
    mine = page.pg.server.messages[question]
    assert mine["content"].startswith(f"<@{page.pg.server.bot_user['id']}>")  # @name became a mention
    assert reply["reply_to"]["id"] == question
    assert "loopback" in embed_text(reply)
    assert {"Linux", "macOS", "Windows", "Delete"} <= set(button_ids(reply))


async def test_a_dm_is_a_question(page: Page) -> None:
    _, reply = await page.ask(page.pg.dm_id, "port 5432")
    assert "5432" in embed_text(reply) and reply["channel_id"] == page.pg.dm_id


async def test_slash_explain_answers_and_shows_who_used_it(page: Page) -> None:
    since = page.client.mark()
    result = await page.client.ok(
        "POST",
        "/api/commands",
        {"channel_id": page.general, "path": ["explain"], "options": {"query": "http://localhost:5173"}},
    )
    assert result == {"ok": True}
    reply = await page.client.bot_message(since=since, channel=page.general)
    assert reply["command"] == {"name": "explain", "user_id": page.pg.you_id}
    assert "localhost" in embed_text(reply) and not reply["ephemeral"]


async def test_private_explain_is_ephemeral_and_shown_to_you(page: Page) -> None:
    since = page.client.mark()
    await page.client.ok(
        "POST",
        "/api/commands",
        {"channel_id": page.general, "path": ["explain"], "options": {"query": "port 22", "private": "true"}},
    )
    reply = await page.client.bot_message(since=since, channel=page.general)
    assert reply["ephemeral"] and "22" in embed_text(reply)


async def test_autocomplete_returns_the_bots_choices(page: Page) -> None:
    data = await page.client.ok(
        "POST",
        "/api/autocomplete",
        {
            "channel_id": page.general,
            "path": ["explain"],
            "options": {"query": "ECONNRE"},
            "focused": "query",
        },
    )
    values = [c["value"] for c in data["choices"]]
    assert "ECONNREFUSED" in values, data


async def test_explain_this_message_answers_privately(page: Page) -> None:
    target = await page.say(page.general, "listen EADDRINUSE :::3000 when I start the server")
    since = page.client.mark()
    result = await page.client.ok(
        "POST", "/api/message-commands", {"name": "Explain this message", "message_id": target}
    )
    assert result == {"ok": True}
    reply = await page.client.bot_message(since=since, channel=page.general)
    assert reply["ephemeral"] and "port 3000" in embed_text(reply)
    assert reply["command"]["name"] == "Explain this message"


async def test_an_os_button_updates_the_answer_with_that_systems_commands(page: Page) -> None:
    _, reply = await page.ask(page.general, "@netexplain connect ECONNREFUSED ::1:5432")
    since = page.client.mark()
    result = await page.click(reply, "Linux")
    assert result == {"ok": True}
    update = await page.client.wait_event(
        lambda e: e["type"] == "message_update" and e["message"]["id"] == reply["id"], since=since
    )
    names = [f["name"] for e in update["message"]["embeds"] for f in e.get("fields") or []]
    assert any(n.endswith("(Linux)") for n in names), names


async def test_deleting_the_question_deletes_the_answer(page: Page) -> None:
    question, reply = await page.ask(page.general, "@netexplain what is 10.0.0.0/8?")
    since = page.client.mark()
    assert (await page.client.ok("DELETE", f"/api/messages/{question}")) == {"deleted": question}
    await page.client.wait_event(
        lambda e: e["type"] == "message_delete" and e["message_id"] == reply["id"], since=since
    )
    assert reply["id"] not in page.pg.server.messages


async def test_editing_the_question_updates_the_answer(page: Page) -> None:
    question, reply = await page.ask(page.general, "@netexplain port 5432")
    since = page.client.mark()
    await page.client.ok("PATCH", f"/api/messages/{question}", {"content": "@netexplain port 6379"})
    update = await page.client.wait_event(
        lambda e: e["type"] == "message_update" and e["message"]["id"] == reply["id"], since=since
    )
    assert "6379" in embed_text(update["message"])


async def test_the_magnifier_in_the_watched_channel_brings_the_answer(page: Page) -> None:
    server = page.pg.server
    seed = await server.wait_for(
        lambda: next(m for m in server.messages.values() if m["author"]["id"] == page.pg.other_id), timeout=10
    )
    await server.wait_for(
        lambda: any(r["emoji"] == MAGNIFIER for r in page.pg.reactions_json(seed["id"])), timeout=10
    )
    since = page.client.mark()
    data = await page.client.ok("PUT", f"/api/messages/{seed['id']}/reactions/{MAGNIFIER}")
    assert {"emoji": MAGNIFIER, "count": 2, "me": True} in data["reactions"]
    reply = await page.client.bot_message(since=since, channel=page.help, reply_to=seed["id"])
    assert "[::1]:5432" in embed_text(reply)
    data = await page.client.ok("DELETE", f"/api/messages/{seed['id']}/reactions/{MAGNIFIER}")
    assert {"emoji": MAGNIFIER, "count": 1, "me": False} in data["reactions"]


async def test_other_peoples_ephemeral_messages_stay_hidden(page: Page) -> None:
    # The server owner's "now watching" confirmation at set-up was ephemeral: the page never shows it.
    state = await page.client.ok("GET", "/api/state")
    shown = {m["id"] for m in state["messages"]}
    hidden = [m["id"] for m in page.pg.server.messages.values() if m["flags"] & 64 and not page.pg.visible(m)]
    assert hidden and not shown & set(hidden)


@pytest.mark.parametrize(
    ("method", "path", "body", "sentence"),
    [
        ("POST", "/api/messages", {"channel_id": "general", "content": "hi"}, "no such channel"),
        ("POST", "/api/messages", {"channel_id": None, "content": ""}, "no such channel"),
        ("POST", "/api/commands", {"channel_id": None, "path": ["nope"]}, "no /nope command"),
        ("POST", "/api/components", {"message_id": "1", "custom_id": "x"}, "no longer exists"),
        ("POST", "/api/knowledge/preview", {"entry": "no-such-entry"}, "no entry"),
    ],
)
async def test_mistakes_get_one_sentence_and_a_400(
    page: Page, method: str, path: str, body: dict[str, Any], sentence: str
) -> None:
    status, data = await page.client.call(method, path, body)
    assert status == 400, data
    assert sentence in data["error"] and data["error"].endswith(".") and "\n" not in data["error"]


async def test_empty_messages_and_wrong_option_types_are_refused(page: Page) -> None:
    status, data = await page.client.call(
        "POST", "/api/messages", {"channel_id": page.general, "content": " "}
    )
    assert (status, data["error"]) == (400, "Type a message first.")
    status, data = await page.client.call(
        "POST",
        "/api/commands",
        {"channel_id": page.general, "path": ["netexplain", "cooldown"], "options": {"minutes": "soon"}},
    )
    assert (status, data["error"]) == (400, "minutes must be a whole number.")


async def test_server_only_commands_are_refused_in_the_dm(page: Page) -> None:
    state = await page.client.ok("GET", "/api/state")
    in_dm = {" ".join(c["path"]) for c in state["commands"]["slash"] if c["dm"]}
    assert "explain" in in_dm and "netexplain watch" not in in_dm
    status, data = await page.client.call(
        "POST",
        "/api/commands",
        {"channel_id": page.pg.dm_id, "path": ["netexplain", "watch"], "options": {"mode": "reply"}},
    )
    assert (status, data["error"]) == (400, "/netexplain watch works only in a server.")


async def test_you_cannot_edit_or_delete_someone_elses_message(page: Page) -> None:
    _, reply = await page.ask(page.general, "@netexplain port 80")
    for method, body in (("PATCH", {"content": "x"}), ("DELETE", None)):
        status, data = await page.client.call(method, f"/api/messages/{reply['id']}", body)
        assert status == 400 and "your own messages" in data["error"]


async def test_the_api_refuses_other_sites_and_other_host_names(page: Page) -> None:
    body = {"channel_id": page.general, "content": "@netexplain hi"}
    status, _ = await page.client.call(
        "POST", "/api/messages", body, headers={"Origin": "http://evil.example"}
    )
    assert status == 403
    status, _ = await page.client.call(
        "GET", "/api/state", headers={"Host": f"rebound.example:{page.pg.port}"}
    )
    assert status == 403
    async with page.client.session.post(
        f"{page.client.base}/api/messages", data="content=hi", headers={"Content-Type": "text/plain"}
    ) as resp:
        assert resp.status == 415


async def test_the_page_and_its_scripts_are_served(page: Page) -> None:
    async with page.client.session.get(page.pg.url) as resp:
        assert resp.status == 200
        html = await resp.text()
    assert "<title>netexplain playground</title>" in html and "/static/app.js" in html
    for name in ("app.js", "style.css"):
        async with page.client.session.get(f"{page.client.base}/static/{name}") as resp:
            assert resp.status == 200 and len(await resp.read()) > 1000


async def test_reloading_edited_knowledge_restarts_the_bot_on_it(page: Page) -> None:
    # Kept last in the module: it restarts the bot.
    entry = page.pg.knowledge_root / "terms" / "localhost.yaml"
    text = entry.read_text(encoding="utf-8")
    entry.write_text(
        text.replace("is a special host name that means", "is the playground-edited name that means"),
        encoding="utf-8",
    )
    since = page.client.mark()
    state = await page.client.ok("POST", "/api/knowledge/reload", {})
    assert state["error"] is None and state["bot_restarting"] is True
    await page.client.wait_event(
        lambda e: e["type"] == "bot_status" and e["status"] == "online", since=since, timeout=60
    )
    _, reply = await page.ask(page.general, "@netexplain what is localhost?")
    assert "playground-edited name" in embed_text(reply)
