"""Brief explanations (compact replies in watched channels) say the same as full ones, minus sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core import explain
from bot.core.knowledge import Knowledge

CORPUS = [json.loads(line)["text"] for line in (Path(__file__).parents[1] / "data/dev-corpus.jsonl").open()]
EXTRA = ["what is an ephemeral port?", "10.0.0.0/8 and fd00::/8", "256.1.1.1:99999", "hello there", ""]


@pytest.mark.parametrize("text", CORPUS + EXTRA)
def test_brief_answer_matches_the_full_one_without_sections(text: str, kb: Knowledge) -> None:
    full, brief = explain(text, kb), explain(text, kb, brief=True)
    assert brief.brief and not full.brief
    assert (brief.findings, brief.triggered) == (full.findings, full.triggered)
    assert (brief.answer.title, brief.answer.summary) == (full.answer.title, full.answer.summary)
    assert brief.answer.entry_ids == full.answer.entry_ids
    assert set(brief.answer.references) <= {r for p in full.parts for r in p.references} | set(
        full.answer.references
    )
    assert [(p.title, p.summary, p.references, p.entry_ids) for p in brief.parts] == [
        (p.title, p.summary, p.references, p.entry_ids) for p in full.parts
    ]
    assert all(not p.sections for p in (brief.answer, *brief.parts))
    if len(full.parts) > 1:
        assert full.answer.sections  # the full answer does have sections to leave out
    # (one plain public address says all it has in the summary: the full answer has nothing more)


def test_passive_brief_rules_out_chatter(kb: Knowledge) -> None:
    exp = explain("see you at lunch, 12:30?", kb, passive=True, brief=True)
    assert not exp.findings and not exp.triggered
