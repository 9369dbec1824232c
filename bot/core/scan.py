"""Scanning a whole log for the lines with findings, at little more than the cost of reading the rest.

A log is mostly lines with nothing to explain. Instead of testing each line in Python, `scan` looks at
a block of lines at once with a few passes that run in C: a regular expression for the lines holding a
character that needs a closer look (a colon, slash, bracket, digit or anything beyond ASCII), and a
search for the knowledge base's words and the host-naming phrases. Only those lines are tested with
`may_contain_findings` and, when it passes, explained. The lines reported are exactly those for which
`find(line)` finds something (a property test compares it with the line-by-line loop).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from bot.core.classify import ProgramLookup, classify_in
from bot.core.extract import ASCII_WORD_TABLE, PREFILTER_ANCHORS, extract, may_contain_findings
from bot.core.knowledge import Knowledge
from bot.core.model import Finding

# A character that `may_contain_findings` looks at more closely than words: the rest of its line.
_CLOSER_LOOK_RE = re.compile(r"[:/\[0-9\x80-\U0010ffff][^\n]*")


class ScanHit(NamedTuple):
    """A line of a log with what was found in it; `number` counts from 1."""

    number: int
    line: str
    findings: list[Finding]


def scan(chunks: Iterable[str], kb: Knowledge) -> Iterator[ScanHit]:
    """The lines with findings, in order, from text given in pieces of any size (lines end at "\\n")."""
    pending = ""
    seen_lines = 0
    for chunk in chunks:
        block = pending + chunk
        cut = block.rfind("\n") + 1
        pending = block[cut:]
        if cut:
            yield from _scan_block(block[:cut], seen_lines, kb)
            seen_lines += block.count("\n", 0, cut)
    if pending:
        yield from _scan_block(pending + "\n", seen_lines, kb)


def _scan_block(block: str, seen_lines: int, kb: Knowledge) -> Iterator[ScanHit]:
    # `block` is whole lines, each ending in "\n".
    starts = {block.rfind("\n", 0, m.start()) + 1 for m in _CLOSER_LOOK_RE.finditer(block)}
    # The other lines are ASCII: one byte per character, so byte offsets are string offsets.
    data = block.encode("ascii", "replace").lower()
    words = data.translate(ASCII_WORD_TABLE)
    present = [w for w in kb.prefilter_dotted if words.find(w) >= 0]
    present += kb.prefilter_words.intersection(words.replace(b".", b" ").split())
    for needle, haystack in [*((w, words) for w in present), *((a, data) for a in PREFILTER_ANCHORS)]:
        at = haystack.find(needle)
        while at >= 0:
            start = block.rfind("\n", 0, at) + 1
            starts.add(start)
            at = haystack.find(needle, block.find("\n", at) + 1)
    number = seen_lines + 1
    counted = 0
    for start in sorted(starts):
        line = block[start : block.find("\n", start)]
        if not may_contain_findings(line, kb):
            continue
        candidates = extract(line, kb)
        if not candidates:
            continue
        number += block.count("\n", counted, start)
        counted = start
        programs = ProgramLookup(line, kb)
        yield ScanHit(number, line, [classify_in(c, kb, programs) for c in candidates])
