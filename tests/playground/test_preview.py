"""The knowledge-base preview and reload, over the playground's HTTP API (no bot needed for these)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from bot.core import explain
from bot.kb import load_knowledge
from bot.playground.app import Playground
from bot.playground.preview import query_for_entry
from bot.render import TOTAL_LIMIT, render_explanation
from tests.bot.harness import embed_text
from tests.playground.page_client import PageClient, button_ids

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[2]
MANY_FINDINGS = " ".join(
    [
        "connect ECONNREFUSED ::1:5432",
        "listen EADDRINUSE :::3000",
        "127.0.0.1:62893 0.0.0.0:8000 10.0.0.0/8 [::1]:8080 http://localhost:5173 169.254.169.254",
        "ETIMEDOUT ECONNRESET EACCES",
    ]
)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def preview(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[PageClient]:
    knowledge = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    async with Playground(knowledge=knowledge, start_bot=False) as pg:
        client = PageClient(pg)
        try:
            yield client
        finally:
            await client.close()


async def test_the_picker_lists_every_entry_with_its_file(preview: PageClient) -> None:
    data = await preview.ok("GET", "/api/knowledge")
    entries = {e["id"]: e for e in data["entries"]}
    assert entries["econnrefused"] == {
        "id": "econnrefused",
        "kind": "error",
        "title": entries["econnrefused"]["title"],
        "file": "errors/econnrefused.yaml",
    }
    assert {e["kind"] for e in data["entries"]} == {"term", "error", "program"}
    assert data["error"] is None and Path(data["root"]) == preview.pg.knowledge_root


async def test_an_entry_previews_as_the_answer_to_the_query_that_reaches_it(preview: PageClient) -> None:
    data = await preview.ok("POST", "/api/knowledge/preview", {"entry": "econnrefused"})
    assert data["reachable"] and data["query"] == "ECONNREFUSED"
    assert "econnrefused" in data["embeds"][0]["title"].lower()
    assert data["embeds"][0]["color"] == 0xED4245  # errors are drawn red
    assert {"Linux", "macOS", "Windows"} <= set(button_ids(data))


async def test_the_preview_is_exactly_what_the_bot_renders(preview: PageClient) -> None:
    data = await preview.ok("POST", "/api/knowledge/preview", {"text": MANY_FINDINGS})
    kb = preview.pg.kb
    assert kb is not None
    rendered = render_explanation(explain(MANY_FINDINGS, kb))
    assert data["embeds"] == [e.to_dict() for e in rendered.embeds]
    assert len(data["more"]) == min(len(rendered.more), 10) > 0  # each part waits behind "More (N)"
    assert any(label.startswith("More (") for label in button_ids(data))
    assert data["size"] == rendered.payload_size() <= data["limit"] == TOTAL_LIMIT


async def test_an_os_choice_previews_that_systems_commands(preview: PageClient) -> None:
    data = await preview.ok(
        "POST", "/api/knowledge/preview", {"text": "connect ECONNREFUSED 127.0.0.1:5432", "os": "windows"}
    )
    names = [f["name"] for e in data["embeds"] for f in e.get("fields") or []]
    assert any(n.endswith("(Windows)") for n in names), names
    assert not any(n.endswith("(Linux)") for n in names)
    styles = {c["label"]: c["style"] for row in data["components"] for c in row["components"]}
    assert styles["Windows"] == 1 and styles["Linux"] == 2  # the chosen system's button is highlighted


async def test_text_with_nothing_to_explain_previews_the_help(preview: PageClient) -> None:
    data = await preview.ok("POST", "/api/knowledge/preview", {"text": "hello there"})
    assert not data["found"] and data["embeds"][0]["title"] == "Nothing to explain here"


async def test_every_shipped_entry_is_reachable_by_some_query() -> None:
    # What the preview tells a contributor ("no query reaches this entry") holds for none of ours.
    kb = load_knowledge()
    unreachable = [e.id for e in kb.entries.values() if query_for_entry(e, kb) is None]
    assert unreachable == []


async def test_reload_picks_up_edited_yaml_without_a_restart(preview: PageClient) -> None:
    path = preview.pg.knowledge_root / "terms" / "localhost.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace('means "this machine"', 'means "this very computer"'), encoding="utf-8")
    try:
        state = await preview.ok("POST", "/api/knowledge/reload", {})
        assert state["error"] is None and state["bot_restarting"] is False  # no bot in this fixture
        data = await preview.ok("POST", "/api/knowledge/preview", {"entry": "localhost"})
        assert "this very computer" in embed_text(data)
    finally:
        path.write_text(original, encoding="utf-8")


async def test_a_broken_file_shows_file_entry_and_reason_and_keeps_the_last_good_knowledge(
    preview: PageClient,
) -> None:
    path = preview.pg.knowledge_root / "terms" / "localhost.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("title: localhost\n", ""), encoding="utf-8")
    try:
        status, state = await preview.call("POST", "/api/knowledge/reload", {})
        assert status == 422
        assert state["error"]["file"] == "terms/localhost.yaml"
        assert state["error"]["entry"] == "localhost"
        assert "title" in state["error"]["reason"]
        # The preview still answers from the knowledge that loaded last.
        data = await preview.ok("POST", "/api/knowledge/preview", {"entry": "localhost"})
        assert "localhost" in embed_text(data)
        # Every page learns about the error live.
        assert (await preview.ok("GET", "/api/knowledge"))["error"] == state["error"]
    finally:
        path.write_text(original, encoding="utf-8")
    state = await preview.ok("POST", "/api/knowledge/reload", {})
    assert state["error"] is None


async def test_invalid_yaml_names_the_line(preview: PageClient) -> None:
    path = preview.pg.knowledge_root / "terms" / "cidr.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text("id: cidr\ntitle: [unclosed\n", encoding="utf-8")
    try:
        status, state = await preview.call("POST", "/api/knowledge/reload", {})
        assert status == 422 and state["error"]["file"] == "terms/cidr.yaml"
        assert "line" in state["error"]["reason"]
    finally:
        path.write_text(original, encoding="utf-8")
        await asyncio.sleep(0)
    assert (await preview.ok("POST", "/api/knowledge/reload", {}))["error"] is None


async def test_preview_mistakes_get_one_sentence(preview: PageClient) -> None:
    status, data = await preview.call("POST", "/api/knowledge/preview", {"text": "  "})
    assert (status, data["error"]) == (400, "Pick an entry or type something to explain.")
    status, data = await preview.call("POST", "/api/knowledge/preview", {"text": "x", "os": "beos"})
    assert (status, data["error"]) == (400, "The system must be linux, macos or windows.")


async def test_a_knowledge_base_that_never_loaded_is_explained_not_crashed_on(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", knowledge)
    (knowledge / "errors" / "econnrefused.yaml").write_text("id: econnrefused\n", encoding="utf-8")
    async with Playground(knowledge=knowledge, start_bot=False) as pg:
        client = PageClient(pg)
        try:
            state = await client.ok("GET", "/api/knowledge")
            assert state["entries"] == []
            assert state["error"]["file"] == "errors/econnrefused.yaml"
            status, data = await client.call("POST", "/api/knowledge/preview", {"text": "port 22"})
            assert status == 400 and data["error"].startswith("The knowledge base does not load: ")
        finally:
            await client.close()
