"""The shape of every answer: a lead read at a glance, at most about 1,200 characters of prose, each
sentence once, no raw data notes or placeholders, each source once.

Checked over the dev corpus, the realistic pastes of `test_leads.py`, and the preview of every
knowledge entry (the query that reaches it, as the playground's Knowledge preview finds it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.core import explain
from bot.core.compose import MAX_LEAD, PROSE_BUDGET, _key, _units
from bot.core.knowledge import Knowledge
from bot.core.model import Answer
from bot.kb import load_knowledge
from bot.playground.preview import query_for_entry
from tests.core.test_leads import LEADS

CORPUS = [json.loads(line)["text"] for line in (Path(__file__).parents[1] / "data/dev-corpus.jsonl").open()]
PASTES = [paste for paste, _, _ in LEADS]
RAW_NOTES = re.compile(r"IANA name:|IANA: (?:unassigned|reserved)|<port>|<ip>|\{(?:port|ip|host|service)\}")


def _entry_queries() -> list[str]:
    kb = load_knowledge()
    return sorted({q for e in kb.entries.values() if (q := query_for_entry(e, kb)) is not None})


TEXTS = list(dict.fromkeys([*CORPUS, *PASTES, *_entry_queries()]))


def prose(answer: Answer) -> list[str]:
    """The summary and the general sections' bodies (per-OS commands are not prose)."""
    return [answer.summary, *(s.body for s in answer.sections if s.os is None)]


def repeated_sentences(answer: Answer) -> list[str]:
    seen: set[str] = set()
    twice = []
    for body in prose(answer):
        for unit, _ in _units(body):
            key = _key(unit)
            if len(key) < 12:  # "- **Linux**" and the like are labels, not sentences
                continue
            if key in seen:
                twice.append(unit)
            seen.add(key)
    return twice


@pytest.mark.parametrize("text", TEXTS)
def test_the_answer_is_short_says_each_sentence_once_and_shows_no_raw_data(text: str, kb: Knowledge) -> None:
    exp = explain(text, kb)
    answer = exp.answer
    assert len(answer.summary) <= MAX_LEAD, answer.summary
    assert sum(len(p) for p in prose(answer)) <= PROSE_BUDGET, [s.heading for s in answer.sections]
    assert repeated_sentences(answer) == []
    for part in exp.parts:  # each full answer behind "More" says each sentence once too
        assert repeated_sentences(part) == [], part.title
    for body in (answer.title, *prose(answer), *(s.body for s in answer.sections)):
        assert not RAW_NOTES.search(body), body
    assert len({r.url for r in answer.references}) == len(answer.references)  # each page once


def test_the_texts_cover_every_entry_that_a_query_reaches(kb: Knowledge) -> None:
    reached = [e.id for e in kb.entries.values() if query_for_entry(e, kb) is not None]
    assert len(reached) >= len(kb.entries) - 2  # an entry no query reaches is flagged by the preview
