"""The playground page in a real browser: a person types, mentions, runs /explain, clicks, deletes.

One playground (with the real bot) and one page serve the module; the tests run in order, as a person
would try things, and each checks what the page shows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.playground.process import PlaygroundProcess

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TIMEOUT = 15_000  # ms; the machine is shared, the bot answers in milliseconds when it is not
BLURPLE = "rgb(88, 101, 242)"
RED = "rgb(237, 66, 69)"


@pytest.fixture(scope="module")
def page(browser: Any, playground: PlaygroundProcess) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT)
    page.goto(playground.url)
    page.wait_for_selector("body[data-ready]")
    yield page
    context.close()
    assert errors == [], errors


def messages(page: Any) -> Any:
    return page.locator("#messages > li.message")


def last_bot_message(page: Any) -> Any:
    return messages(page).filter(has=page.locator(".author.is-bot")).last


def wait_for_field(page: Any, scope: str, suffix: str) -> None:
    """Wait until an embed field under `scope` has a name ending in `suffix`."""
    page.wait_for_function(
        "([scope, suffix]) => [...document.querySelectorAll(`${scope} .embed-field-name`)]"
        ".some(n => n.textContent.endsWith(suffix))",
        arg=[scope, suffix],
    )


def send(page: Any, text: str) -> None:
    box = page.locator("#composer-input")
    box.click()
    box.fill(text)
    box.press("Enter")


def test_the_page_looks_like_a_server_with_channels_a_dm_and_the_bot_online(page: Any) -> None:
    channels = page.locator("#guild-channels .channel")
    assert channels.evaluate_all("els => els.map(e => e.dataset.name)") == ["general", "help"]
    assert "watched" in page.locator("[data-name=help] .badge").inner_text()
    assert page.locator("#dm-channels .channel").inner_text().strip().endswith("netexplain")
    page.wait_for_function("document.querySelector('#bot-status-text').textContent.includes('online')")
    assert page.locator("#chat-name").inner_text() == "general"


def test_a_question_mentioning_the_bot_gets_an_embed_drawn_like_discord(page: Any, artifacts: Path) -> None:
    before = messages(page).count()
    send(page, "@netexplain why does my dev server say 127.0.0.1:62893?")
    question = messages(page).nth(before)
    question.wait_for()
    assert question.locator(".mention").inner_text() == "@netexplain"  # typed @name became a mention
    answer = messages(page).nth(before + 1)
    answer.locator(".embed").first.wait_for()
    assert answer.locator(".author").inner_text() == "netexplain"
    assert answer.locator(".bot-tag").is_visible()
    assert "@you" in answer.locator(".msg-context").inner_text()  # a reply, threaded on the question
    embed = answer.locator(".embed").first
    assert "127.0.0.1:62893" in embed.locator(".embed-title").inner_text()
    assert embed.evaluate("e => getComputedStyle(e).borderLeftColor") == BLURPLE
    names = embed.locator(".embed-field-name").all_inner_texts()
    assert "What to do" in names and "Read more" not in names  # the sources once, named in the footer
    assert embed.locator(".embed-footer").inner_text().startswith("Sources: ")
    buttons = answer.locator("button.component").all_inner_texts()
    assert buttons[:3] == ["Linux", "macOS", "Windows"] and buttons[-1] == "Delete"
    assert buttons[3].startswith("More (")  # each thing's full answer, with links to its sources
    question.evaluate("e => e.scrollIntoView({block: 'start'})")  # the question, then its answer
    shot = artifacts / "playground-answer.png"
    page.screenshot(path=str(shot))
    print(f"screenshot of an answer: {shot}")


def test_an_answer_button_shows_that_systems_commands(page: Any) -> None:
    answer = last_bot_message(page)
    # discord.py attaches the buttons' handlers once it has read the reply to its own send; a click in
    # the first milliseconds would go unanswered (on Discord too, but no person clicks that fast).
    page.wait_for_timeout(500)
    answer.locator("button.component", has_text="Linux").click()
    wait_for_field(page, "#messages", "(Linux)")
    linux = last_bot_message(page).locator("button.component", has_text="Linux")
    assert "style-1" in (linux.get_attribute("class") or "")  # the chosen system is highlighted


def test_more_shows_the_other_findings_privately_and_delete_removes_the_answer(page: Any) -> None:
    before = messages(page).count()
    send(page, "@netexplain connect ECONNREFUSED ::1:5432, then 10.0.0.0/8, 0.0.0.0:8000 and 169.254.169.254")
    answer = messages(page).nth(before + 1)
    answer.locator(".embed").first.wait_for()
    page.wait_for_timeout(500)  # see test_an_answer_button_shows_that_systems_commands
    more = answer.locator("button.component", has_text="More (")
    hidden = int(more.inner_text().split("(")[1].rstrip(")"))
    more.click()
    private = messages(page).nth(before + 2)
    private.locator(".embed").first.wait_for()
    assert "Only you can see this" in private.inner_text()
    assert private.locator(".embed").count() == hidden
    answer_id = answer.get_attribute("data-id")
    answer.locator("button.component", has_text="Delete").click()
    page.locator(f"#m-{answer_id}").wait_for(state="detached")
    assert messages(page).nth(before).is_visible()  # the question stays


def test_inline_fields_share_a_row_as_on_discord(page: Any) -> None:
    # The bot sends full-width fields only; the renderer still lays out inline ones as Discord does.
    boxes = page.evaluate(
        """() => {
            const node = renderEmbed({title: "t", color: 0x57f287, footer: {text: "f"}, fields: [
                {name: "a", value: "1", inline: true}, {name: "b", value: "2", inline: true},
                {name: "c", value: "3", inline: true}, {name: "d", value: "4", inline: true},
                {name: "e", value: "5", inline: false}]});
            document.querySelector("#messages").append(node);
            const out = [...node.querySelectorAll(".embed-field")].map(f => f.getBoundingClientRect())
                .map(r => [Math.round(r.left), Math.round(r.top), Math.round(r.width)]);
            const colour = getComputedStyle(node).borderLeftColor;
            node.remove();
            return {fields: out, colour};
        }"""
    )
    (ax, ay, aw), (bx, by, _), (cx, cy, _), (dx, dy, dw), (_, ey, ew) = boxes["fields"]
    assert ay == by == cy and ax < bx < cx  # three inline fields on one row
    assert dy > ay and dx == ax and dw > aw  # the fourth starts a row of its own
    assert ey > dy and ew >= dw  # a field that isn't inline takes the whole row
    assert boxes["colour"] == "rgb(87, 242, 135)"


def test_slash_explain_with_autocomplete(page: Any) -> None:
    before = messages(page).count()
    box = page.locator("#composer-input")
    box.click()
    box.type("/expl")
    suggestion = page.locator("#suggestions li.option", has_text="/explain")
    suggestion.first.wait_for()
    box.press("Enter")
    query = page.locator("#command-bar [data-option=query]")
    assert query.evaluate("e => e === document.activeElement")
    query.type("ECONNRE")
    choice = page.locator("#suggestions li.option[data-value=ECONNREFUSED]")
    choice.wait_for()  # the bot's autocomplete answered
    query.press("ArrowDown")
    choice.dispatch_event("mousedown")
    assert query.input_value() == "ECONNREFUSED"
    query.press("Enter")
    answer = messages(page).nth(before)
    answer.locator(".embed").first.wait_for()
    assert "used /explain" in answer.locator(".msg-context").inner_text()
    embed = answer.locator(".embed").first
    assert "ECONNREFUSED" in embed.locator(".embed-title").inner_text()
    assert embed.evaluate("e => getComputedStyle(e).borderLeftColor") == RED  # errors are red


def test_deleting_a_question_takes_its_answer_with_it(page: Any) -> None:
    before = messages(page).count()
    send(page, "@netexplain what is port 5432?")
    question = messages(page).nth(before)
    answer = messages(page).nth(before + 1)
    answer.locator(".embed").first.wait_for()
    question_id = question.get_attribute("data-id")
    answer_id = answer.get_attribute("data-id")
    question.hover()
    question.locator(".tb-delete").click()
    page.locator("#modal-confirm").click()
    page.locator(f"#m-{question_id}").wait_for(state="detached")
    page.locator(f"#m-{answer_id}").wait_for(state="detached")
    assert messages(page).count() == before


def test_editing_a_question_updates_the_answer(page: Any) -> None:
    before = messages(page).count()
    send(page, "@netexplain port 6379")
    answer = messages(page).nth(before + 1)
    answer.locator(".embed").first.wait_for()
    assert "6379" in answer.locator(".embed-title").first.inner_text()
    page.locator("#composer-input").press("ArrowUp")  # Discord's shortcut: edit your last message
    edit = page.locator(".edit-box")
    edit.fill("@netexplain port 27017")
    edit.press("Enter")
    page.wait_for_function(
        "id => document.querySelector(`#m-${id} .embed-title`)?.textContent.includes('27017')",
        arg=answer.get_attribute("data-id"),
    )
    assert "(edited)" in messages(page).nth(before).inner_text()


def test_explain_this_message_from_the_context_menu_answers_privately(page: Any) -> None:
    page.locator("[data-name=help]").click()
    question = messages(page).filter(has_text="ECONNREFUSED ::1:5432").first
    question.wait_for()
    question.click(button="right")
    page.locator("#context-menu button", has_text="Explain this message").click()
    private = messages(page).filter(has_text="Only you can see this").last
    private.wait_for()
    assert "used Explain this message" in private.inner_text()
    assert "[::1]:5432" in private.locator(".embed-title").first.inner_text()
    private.locator(".dismiss").click()
    private.wait_for(state="detached")


def test_the_magnifier_in_the_watched_channel_brings_the_full_answer(page: Any) -> None:
    question = messages(page).filter(has_text="ECONNREFUSED ::1:5432").first
    reaction = question.locator(".reaction[data-emoji='\U0001f50e']")
    reaction.wait_for()  # the bot offered help with 🔎
    before = messages(page).count()
    reaction.click()
    answer = messages(page).nth(before)
    answer.locator(".embed").first.wait_for()
    assert "@sam" in answer.locator(".msg-context").inner_text()
    assert "[::1]:5432" in answer.locator(".embed-title").first.inner_text()
    assert "me" in (question.locator(".reaction").first.get_attribute("class") or "")


def test_a_dm_is_a_question(page: Any) -> None:
    page.locator("#dm-channels .channel").click()
    send(page, "http://localhost:5173")
    answer = last_bot_message(page)
    answer.locator(".embed").first.wait_for()
    assert "localhost" in answer.locator(".embed-title").first.inner_text().lower()


def test_the_knowledge_preview_shows_an_entry_and_a_typed_text(page: Any) -> None:
    page.locator("#open-kb").click()
    page.locator("#kb-filter").fill("econnrefused")
    page.locator("#kb-entries button[data-entry=econnrefused]").click()
    preview = page.locator("#kb-preview .embed").first
    preview.wait_for()
    assert "ECONNREFUSED" in preview.locator(".embed-title").inner_text()
    meta = page.locator("#kb-meta").inner_text()
    assert "Asked: ECONNREFUSED" in meta and "/ 6,000 embed characters" in meta
    assert "null" not in meta and "undefined" not in meta
    page.locator("#kb-preview button.component", has_text="Windows").click()
    wait_for_field(page, "#kb-preview", "(Windows)")
    page.locator("#kb-text").fill("what is 0.0.0.0:8000")
    page.locator("#kb-text-form button").click()
    page.wait_for_function("document.querySelector('#kb-meta').textContent.includes('0.0.0.0:8000')")
    assert "0.0.0.0" in page.locator("#kb-preview .embed-title").first.inner_text()
    assert page.locator("#kb-error").is_hidden()


def test_a_broken_knowledge_file_shows_file_entry_and_reason(page: Any, knowledge: Path) -> None:
    # Last: mending the file restarts the bot on it.
    path = knowledge / "terms" / "localhost.yaml"
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("title: localhost\n", ""), encoding="utf-8")
    try:
        page.locator("#kb-reload").click()
        page.locator("#kb-error").wait_for()
        assert page.locator("#kb-error-file").inner_text() == "terms/localhost.yaml"
        assert page.locator("#kb-error-entry").inner_text() == "localhost"
        assert "title" in page.locator("#kb-error-reason").inner_text()
    finally:
        path.write_text(
            original.replace('means "this machine"', 'means "this very computer"'), encoding="utf-8"
        )
    page.locator("#kb-reload").click()
    page.locator("#kb-error").wait_for(state="hidden")
    page.wait_for_function("document.querySelector('#kb-notice').textContent.includes('restarts')")
    page.wait_for_function("document.querySelector('#bot-status-text').textContent.includes('online')")
    page.locator("#kb-filter").fill("localhost")
    page.locator("#kb-entries button[data-entry=localhost]").click()
    page.wait_for_function("document.querySelector('#kb-preview').textContent.includes('this very computer')")
