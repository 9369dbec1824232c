"""Scanning a whole log for the lines with findings, at little more than the cost of reading the rest.

A log is mostly lines with nothing to explain. Instead of testing each line in Python, `scan` looks at
a block of lines at once with a few passes that run in C: a regular expression for the lines holding a
character that needs a closer look (a colon, slash, bracket, digit or anything beyond ASCII), and a
search for the knowledge base's words and the host-naming phrases. Only those lines are tested with
`may_contain_findings` and, when it passes, explained. The lines reported are exactly those for which
`find(line)` finds something (a property test compares it with the line-by-line loop).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from bot.core.classify import ProgramLookup, classify_in
from bot.core.extract import PREFILTER_ANCHORS, extract, may_contain_findings
from bot.core.knowledge import Knowledge
from bot.core.model import Finding

# The block as ASCII bytes, one per character: anything beyond ASCII becomes \x01.
_MARK = "netexplain.mark-non-ascii"
codecs.register_error(_MARK, lambda e: ("\x01" * (e.end - e.start), e.end))  # type: ignore[attr-defined]
# Characters that `may_contain_findings` looks at more closely than words (colon, slash, bracket,
# digit, beyond ASCII) become \x01, line ends stay, all else is \x00: `find(1)` then jumps to them.
# Lower-cased ASCII with everything but letters, digits and "_" as a space: `split()` gives word parts.
_WORD_PARTS = bytes(c if c in b"abcdefghijklmnopqrstuvwxyz0123456789_" else 32 for c in range(256))
_CLOSER_LOOK = bytes(1 if c in b":/[0123456789\x01" else 10 if c == 10 else 0 for c in range(256))


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
    raw = block.encode("ascii", _MARK)  # one byte per character: byte offsets are string offsets
    marks = raw.translate(_CLOSER_LOOK)
    starts = set()
    at = marks.find(1)
    while at >= 0:
        starts.add(marks.rfind(10, 0, at) + 1)
        at = marks.find(1, marks.find(10, at))
    # The other lines are ASCII. Every word of theirs is a word of the block with dots as separators,
    # or (the knowledge base's few dotted words, such as "resolv.conf") a substring of it.
    data = raw.lower()
    spaced = data.translate(_WORD_PARTS)
    present = [(w, spaced) for w in kb.prefilter_words.intersection(spaced.split())]
    present += [(w, data) for w in (*kb.prefilter_dotted, *PREFILTER_ANCHORS) if data.find(w) >= 0]
    for needle, haystack in present:
        at = haystack.find(needle)
        while at >= 0:
            starts.add(marks.rfind(10, 0, at) + 1)
            at = haystack.find(needle, marks.find(10, at))
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
