"""Which answer belongs to which question, so an answer follows its question's edits and deletion.

Bounded and in memory (like python-discord's code-block helper and Ghostty's linker): after a restart,
or for the oldest of many answers, edits simply stop being followed; nothing else depends on it.
"""

from __future__ import annotations

from collections import OrderedDict
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
