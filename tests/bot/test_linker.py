"""The answer linker: an edit made while the answer is on its way still finds its answer."""

from __future__ import annotations

import asyncio

from bot.cogs._linker import AnswerLinker, Link


async def test_an_edit_during_the_send_waits_for_the_link() -> None:
    linker = AnswerLinker()
    link = Link(question_id=1, channel_id=2, answer_id=3, asker_id=4, style="full")
    with linker.answering(1):
        waiting = asyncio.ensure_future(linker.settled(1))
        await asyncio.sleep(0)  # the edit arrives while the answer is being sent
        assert not waiting.done()
        linker.add(link)
    assert await waiting == link


async def test_an_edit_of_a_question_not_being_answered_does_not_wait() -> None:
    linker = AnswerLinker()
    assert await asyncio.wait_for(linker.settled(9), timeout=0.5) is None


async def test_a_failed_send_releases_the_waiting_edit_with_no_link() -> None:
    linker = AnswerLinker()
    waiting: asyncio.Future[Link | None] | None = None
    try:
        with linker.answering(1):
            waiting = asyncio.ensure_future(linker.settled(1))
            await asyncio.sleep(0)
            raise ConnectionError("the send failed")
    except ConnectionError:
        pass
    assert waiting is not None and await waiting is None
