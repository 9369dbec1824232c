"""Posting an explanation as a reply and keeping it in step with its question (for explain and watch)."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING, Literal

import discord

from bot.cogs._linker import AnswerStyle, Link
from bot.core import explain
from bot.core.knowledge import Knowledge
from bot.core.model import Explanation
from bot.render import LIVE_VIEWS, AnswerView, render_compact, render_explanation, render_help

if TYPE_CHECKING:
    from bot.client import NetexplainBot

log = logging.getLogger(__name__)

MAX_QUERY = 4000  # Discord's own message limit (Nitro); longer input is cut, not rejected

EntryPoint = Literal["mention", "dm", "slash", "context_menu", "watch_reply", "watch_reaction"]
ANSWER_EVENT = "netexplain_answer"


def announce_answer(
    bot: NetexplainBot, entry_point: EntryPoint, explanation: Explanation, received: float
) -> None:
    """Count an answer in the metrics, and dispatch `on_netexplain_answer(entry_point, explanation, seconds)`.

    `received` is the `time.perf_counter()` reading taken when our listener or command callback got the
    event; `seconds` runs until Discord acknowledged the answer. Edits of an existing answer don't count.
    The metrics are counted here rather than by a listener, which would cost a task per answer.
    """
    seconds = time.perf_counter() - received
    bot.metrics.record_answer(entry_point, (f.kind for f in explanation.findings), seconds)
    bot.dispatch(ANSWER_EVENT, entry_point, explanation, seconds)


def strip_mentions_of(content: str, user_id: int) -> str:
    """The message text without mentions of `user_id` (`<@id>` and the legacy `<@!id>`)."""
    return re.sub(rf"<@!?{user_id}>", " ", content).strip()


def explain_text(bot: NetexplainBot, text: str, *, passive: bool = False) -> Explanation:
    """Run the core on user text (cut to a sane size first).

    `passive` is for chatter nobody asked about (watched channels): the core rules out ordinary
    messages cheaply, and composes only the brief answer a compact reply shows.
    """
    return explain(text[:MAX_QUERY], bot.kb, passive=passive, brief=passive)


def fingerprint(text: str) -> int:
    """Changes when the text does; edits that leave it alone (embed unfurls) are ignored."""
    return hash(text)


def build_reply(
    explanation: Explanation, *, kb: Knowledge, asker_id: int, style: AnswerStyle, note: str | None = None
) -> tuple[list[discord.Embed], AnswerView | None]:
    """Embeds and view for an answer in `style`; the short help when nothing was found."""
    if not explanation.found_anything:
        return [render_help(note=note)], None
    if style == "compact":
        return render_compact(explanation).embeds, None
    if explanation.brief:
        raise ValueError("a brief explanation has no sections: explain the text in full for this style")
    rendered = render_explanation(explanation)
    view = AnswerView(explanation, kb=kb, asker_id=asker_id, rendered=rendered)
    return rendered.embeds, view if view.has_buttons else None


async def reply_to(
    bot: NetexplainBot,
    question: discord.Message,
    explanation: Explanation,
    *,
    asker_id: int,
    style: AnswerStyle,
    text: str,
    entry_point: EntryPoint,
    received: float,
    note: str | None = None,
) -> discord.Message:
    """Reply threaded on `question`, pinging nobody, and remember the pair so the answer follows it.

    `entry_point` and `received` (a `time.perf_counter()` reading) feed the `netexplain_answer` event.
    """
    embeds, view = build_reply(explanation, kb=bot.kb, asker_id=asker_id, style=style, note=note)
    kwargs: dict[str, object] = {"view": view} if view is not None else {}
    with bot.linker.answering(question.id):  # an edit of the question meanwhile waits for the link
        with LIVE_VIEWS.sending(view):
            answer = await question.channel.send(
                embeds=embeds,
                reference=question.to_reference(fail_if_not_exists=False),
                mention_author=False,
                **kwargs,  # type: ignore[arg-type]
            )
        if view is not None:
            LIVE_VIEWS.sent(view, answer)
        bot.linker.add(Link(question.id, question.channel.id, answer.id, asker_id, style, fingerprint(text)))
    announce_answer(bot, entry_point, explanation, received)
    return answer


async def follow_edit(bot: NetexplainBot, link: Link, explanation: Explanation | None, text: str) -> None:
    """Update the answer after its question was edited, or delete it when nothing is left to explain."""
    if link.fingerprint == fingerprint(text):
        return
    answer = bot.get_partial_messageable(link.channel_id).get_partial_message(link.answer_id)
    LIVE_VIEWS.release(link.answer_id)  # its buttons belong to the old answer
    keep = explanation is not None and (
        explanation.triggered if link.style == "compact" else explanation.found_anything
    )
    if explanation is None or not keep:
        bot.linker.pop(link.question_id)
        with contextlib.suppress(discord.NotFound):
            await answer.delete()
        return
    embeds, view = build_reply(explanation, kb=bot.kb, asker_id=link.asker_id, style=link.style)
    try:
        with LIVE_VIEWS.sending(view):
            message = await answer.edit(embeds=embeds, view=view)
    except discord.NotFound:
        bot.linker.pop(link.question_id)  # someone deleted the answer in the meantime
        return
    if view is not None:
        LIVE_VIEWS.sent(view, message)
    bot.linker.add(
        Link(link.question_id, link.channel_id, link.answer_id, link.asker_id, link.style, fingerprint(text))
    )


async def delete_answer_of(bot: NetexplainBot, question_id: int) -> None:
    """Delete the answer to a deleted question, if we remember one."""
    link = bot.linker.pop(question_id)
    if link is None:
        return
    LIVE_VIEWS.release(link.answer_id)
    answer = bot.get_partial_messageable(link.channel_id).get_partial_message(link.answer_id)
    with contextlib.suppress(discord.NotFound):
        await answer.delete()
