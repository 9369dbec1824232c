"""The pure core: text and knowledge in, an `Explanation` out. No Discord, no network, no files.

`explain` runs the pipeline: `extract` finds candidates with spans, `classify` classifies them
(addresses by the IANA registries, ports by RFC 6335 and each OS's ephemeral range), `diagnose` matches
the whole message against the known causes (`knowledge/diagnoses/`), and `compose` writes the answer:
the diagnosis first, then each thing found, once.
"""

from __future__ import annotations

from bot.core.classify import (
    ProgramLookup,
    classify,
    classify_address,
    classify_in,
    classify_network,
    classify_port,
)
from bot.core.compose import compose, nothing_found_in_cut
from bot.core.diagnose import Diagnosed, diagnose
from bot.core.extract import MAX_TEXT, extract, may_contain_findings
from bot.core.knowledge import Knowledge
from bot.core.model import Answer, Explanation, Finding
from bot.core.scan import ScanHit, scan

__all__ = [
    "Answer",
    "Diagnosed",
    "Explanation",
    "Finding",
    "ScanHit",
    "classify",
    "classify_address",
    "classify_network",
    "classify_port",
    "diagnose",
    "explain",
    "explanation",
    "find",
    "is_triggering",
    "may_contain_findings",
    "scan",
]

_TRIGGER_KINDS = frozenset({"error", "endpoint", "network", "port"})


def find(text: str, kb: Knowledge) -> list[Finding]:
    """Every finding in `text`, classified, in order of position."""
    candidates = extract(text, kb)
    if not candidates:
        return []
    programs = ProgramLookup(text, kb)
    return [classify_in(c, kb, programs) for c in candidates]


def is_triggering(findings: list[Finding], kb: Knowledge) -> bool:
    """Whether a watching bot would answer unasked: an error, an address, a port or a local URL.

    Terms and bare host names do not: a passing "localhost" in conversation is not a question. The few
    terms that only error output holds (`triggers` in the knowledge base, such as "querySrv") do.
    """
    for f in findings:
        if f.kind in _TRIGGER_KINDS:
            return True
        if f.kind == "term" and f.term and kb.term_triggers(f.term, f.text):
            return True
        if f.kind == "address" and f.address is not None and f.address.ip is not None:
            return True
        if f.kind == "url" and (f.address is not None or f.port is not None):
            return True
    return False


def explain(text: str, kb: Knowledge, *, passive: bool = False, brief: bool = False) -> Explanation:
    """Explain one message. With `passive`, ordinary chatter is ruled out first, at little cost.

    With `brief`, the answers carry title, summary and references but no sections (compact replies).
    """
    if passive and not may_contain_findings(text, kb):
        return explanation(text, [], kb, brief=brief)
    return explanation(text, find(text, kb), kb, brief=brief)


def explanation(text: str, findings: list[Finding], kb: Knowledge, *, brief: bool = False) -> Explanation:
    """The explanation of `text` from its findings (as `find` or `scan` gave them).

    A text longer than `MAX_TEXT` is read only that far: the explanation says so (`read`), and with
    nothing found in that part the answer says the text was cut rather than that it holds nothing.
    """
    diagnosed = diagnose(text, findings, kb)
    answer, parts = compose(findings, kb, brief=brief, diagnosed=diagnosed)
    read = MAX_TEXT if len(text) > MAX_TEXT else None
    if read is not None and not findings:
        answer = nothing_found_in_cut(read, len(text))
    diagnoses = tuple(d.id for d in diagnosed)
    return Explanation(
        text, tuple(findings), is_triggering(findings, kb), answer, parts, brief, read, diagnoses
    )
