"""Which answer belongs to which question, so an answer follows its question's edits and deletion.

Bounded and in memory (like python-discord's code-block helper and Ghostty's linker): after a restart,
or for the oldest of many answers, edits simply stop being followed; nothing else depends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

AnswerStyle = Literal["full", "watched", "compact"]


@dataclass(frozen=True, slots=True)
class Link:
    """A bot answer posted for a question message."""

    question_id: int
    channel_id: int
    answer_id: int
    asker_id: int
    style: AnswerStyle  # full: asked (mention, DM); watched: 🔎 clicked; compact: unasked reply
    fingerprint: int = 0  # of the question text answered, to skip edits that did not change it


class AnswerLinker:
    """question id → `Link`, and answer id → question id, holding at most `capacity` links."""

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self._by_question: OrderedDict[int, Link] = OrderedDict()
        self._by_answer: dict[int, int] = {}
        self._answering: dict[int, asyncio.Event] = {}  # questions whose answer is being sent

    def __len__(self) -> int:
        return len(self._by_question)

    def add(self, link: Link) -> None:
        """Remember a link, forgetting the oldest one when full."""
        self.pop(link.question_id)
        self._by_question[link.question_id] = link
        self._by_answer[link.answer_id] = link.question_id
        while len(self._by_question) > self.capacity:
            _, old = self._by_question.popitem(last=False)
            self._by_answer.pop(old.answer_id, None)

    @contextlib.contextmanager
    def answering(self, question_id: int) -> Iterator[None]:
        """Around sending the answer to a question: an edit arriving meanwhile waits for its link."""
        done = self._answering.setdefault(question_id, asyncio.Event())
        try:
            yield
        finally:
            done.set()
            if self._answering.get(question_id) is done:
                del self._answering[question_id]

    async def settled(self, question_id: int, timeout: float = 10.0) -> Link | None:
        """The link for a question, after its answer is sent if it is being sent now: an edit made
        while the answer is on its way (a second after asking) follows the answer too."""
        pending = self._answering.get(question_id)
        if pending is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(pending.wait(), timeout)
        return self._by_question.get(question_id)

    def get(self, question_id: int) -> Link | None:
        """The link for a question, if it is still remembered."""
        return self._by_question.get(question_id)

    def pop(self, question_id: int) -> Link | None:
        """Forget and return the link for a question."""
        link = self._by_question.pop(question_id, None)
        if link is not None:
            self._by_answer.pop(link.answer_id, None)
        return link

    def forget_answer(self, answer_id: int) -> Link | None:
        """Forget the link whose answer was deleted (by its asker, a moderator, or us)."""
        question_id = self._by_answer.pop(answer_id, None)
        return self._by_question.pop(question_id, None) if question_id is not None else None
