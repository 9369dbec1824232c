"""The whole answer about a special-purpose address never calls it public, and names its own category.

Every row of both IANA special-purpose registries (`tests/data/special-purpose-registry.csv`), as an
address inside the block, as an endpoint with a port, and as the block itself written as a CIDR: the
full answer (title, summary, every section, every part) is read as a person would read it.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from bot.core import explain
from bot.core.compose import CATEGORY_LABELS
from bot.core.knowledge import Knowledge
from bot.core.model import Answer, Explanation

REGISTRY_CSV = Path(__file__).resolve().parent.parent / "data" / "special-purpose-registry.csv"
ROWS = [
    row for row in csv.DictReader(REGISTRY_CSV.open(encoding="utf-8")) if row["in_special_registry"] == "True"
]
PUBLIC_WORDS = re.compile(
    r"\bpublic\b|\bordinary\b|\bunlisted\b|none of the IANA special-purpose blocks", re.IGNORECASE
)


def prose(answer: Answer) -> str:
    """Everything an answer says, as one text."""
    return "\n".join([answer.title, answer.summary, *(s.heading + "\n" + s.body for s in answer.sections)])


def whole_answer(exp: Explanation) -> str:
    return "\n".join(prose(a) for a in (exp.answer, *exp.parts))


def _sentences_about(text: str, subject: str) -> list[str]:
    """The sentences of `text` that name `subject` (in backticks or at the start of a title)."""
    return [s for s in re.split(r"(?<=[.!?])\s+|\n", text) if subject in s]


@pytest.mark.parametrize("row", ROWS, ids=[r["prefix"] for r in ROWS])
@pytest.mark.parametrize("form", ["address", "endpoint", "cidr"])
def test_special_address_answer_is_never_called_public(row: dict[str, str], form: str, kb: Knowledge) -> None:
    sample = row["sample_address"]
    if form == "address":
        query = f"what is {sample}?"
    elif form == "endpoint":
        query = f"what is [{sample}]:8080?" if ":" in sample else f"what is {sample}:8080?"
    else:
        query = f"what is {row['prefix']}?"
    exp = explain(query, kb)
    subjects = [f for f in exp.findings if f.kind != "term" and f.kind != "error"]
    assert subjects, query
    finding = subjects[0]
    category = finding.network.category if finding.network is not None else finding.address.category  # type: ignore[union-attr]
    text = whole_answer(exp)
    if category != "public":
        subject = finding.network.prefix if finding.network is not None else finding.address.ip  # type: ignore[union-attr]
        about = " ".join(_sentences_about(text, str(subject)))
        assert not PUBLIC_WORDS.search(about), (query, category, about)
        assert "none of the IANA special-purpose blocks" not in text, query
    # The category the prose names is the finding's own (a diagnosis may lead; the detail names it).
    label = CATEGORY_LABELS[category]
    assert label.lower() in text.lower(), (
        query,
        label,
        exp.answer.title,
    )
    named = re.findall(r"is an? ([\w' ()-]+?) (?:address|network)\b", text)
    for said in named:
        if said.lower() in {lab.lower() for lab in CATEGORY_LABELS.values()}:
            assert said.lower() == label.lower(), (query, said, label)


def test_public_address_is_said_to_be_public(kb: Knowledge) -> None:
    exp = explain("what is 8.8.8.8?", kb)
    assert "public" in whole_answer(exp)
