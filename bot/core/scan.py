"""Scanning a whole log for the lines with findings, at little more than the cost of reading the rest.

A log is mostly lines with nothing to explain. Instead of testing each line in Python, `scan` looks at
a block of lines at once with a few passes that run in C: a regular expression for the lines holding a
character that needs a closer look (a colon, slash, bracket, digit or anything beyond ASCII), and a
search for the knowledge base's words and the host-naming phrases. Only those lines are tested with
`may_contain_findings` and, when it passes, explained. The lines reported are exactly those for which
`find(line)` finds something (a property test compares it with the line-by-line loop), a line being
read up to `LINE_LIMIT` characters, as far as extraction looks.

Reading streams: time is linear in the input and memory bounded by the largest piece given, whatever
the lines' lengths (a log that is one endless line included). Findings are classified once per
distinct thing and run (`FindingCache`).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from typing import Literal, NamedTuple

from bot.core.classify import ProgramLookup, classify_in
from bot.core.extract import MAX_TEXT, PREFILTER_ANCHORS, Candidate, extract, may_contain_findings
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


LINE_LIMIT = MAX_TEXT  # characters of a line that are read: extraction looks no further


class ScanHit(NamedTuple):
    """A line of a log with what was found in it; `number` counts from 1.

    `line` is at most `LINE_LIMIT` characters; `cut` says that the line went on beyond them.
    """

    number: int
    line: str
    findings: list[Finding]
    cut: bool = False


class FindingCache:
    """Classified findings by what was found, for one run: logs repeat their endpoints and errors.

    The key is the candidate without its place in the line (address, port, error, term...) and the
    program whose banner stands on the line, which is all that `classify_in` reads; a hit costs a dict
    look-up instead of a classification. Bounded: when full it starts again, so memory stays flat on
    logs where nothing repeats.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self.hits = 0
        self.misses = 0
        self._findings: dict[tuple[Candidate, str | None], Finding] = {}

    def classify(self, candidate: Candidate, kb: Knowledge, programs: ProgramLookup) -> Finding:
        """What `classify_in(candidate, kb, programs)` returns, classified once per distinct thing."""
        key = (candidate._replace(span=(0, 0)), programs.at(candidate.span))
        found = self._findings.get(key)
        if found is not None:
            self.hits += 1
            return found._replace(span=candidate.span)
        self.misses += 1
        if len(self._findings) >= self.capacity:
            self._findings.clear()
        finding = classify_in(candidate, kb, programs)
        self._findings[key] = finding
        return finding


def scan(chunks: Iterable[str], kb: Knowledge, cache: FindingCache | None = None) -> Iterator[ScanHit]:
    """The lines with findings, in order, from text given in pieces of any size (lines end at "\\n").

    Streaming, in time linear in the input and memory bounded by the largest piece: a line is read
    only up to `LINE_LIMIT` characters, and the rest of it is counted, never kept.
    """
    cache = cache if cache is not None else FindingCache()
    pending: list[str] = []  # the start of a line that goes on in the next piece
    kept = 0  # characters in `pending`
    cut = False  # the pending line is longer than LINE_LIMIT
    seen_lines = 0
    for chunk in chunks:
        end = chunk.find("\n")
        if end < 0:
            room = LINE_LIMIT - kept
            if chunk and room > 0:
                pending.append(chunk[:room])
                kept += len(pending[-1])
            cut = cut or len(chunk) > room
            continue
        start = 0
        if pending:
            head = chunk[: min(end, LINE_LIMIT - kept)]
            line = "".join(pending) + head
            yield from _scan_block(line + "\n", seen_lines, kb, cache, cut or end > len(head))
            seen_lines += 1
            pending, kept, cut = [], 0, False
            start = end + 1
        last = chunk.rfind("\n") + 1
        if last > start:
            yield from _scan_block(chunk[start:last], seen_lines, kb, cache)
            seen_lines += chunk.count("\n", start, last)
        if last < len(chunk):
            pending = [chunk[last : last + LINE_LIMIT]]
            kept = len(pending[0])
            cut = len(chunk) - last > LINE_LIMIT
    if pending:
        yield from _scan_block("".join(pending) + "\n", seen_lines, kb, cache, cut)


def _scan_block(
    block: str, seen_lines: int, kb: Knowledge, cache: FindingCache, cut_line: bool = False
) -> Iterator[ScanHit]:
    # `block` is whole lines, each ending in "\n"; `cut_line`: its one line was cut to LINE_LIMIT.
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
        end = block.find("\n", start)
        cut = cut_line or end - start > LINE_LIMIT
        line = block[start : min(end, start + LINE_LIMIT)]
        if not may_contain_findings(line, kb):
            continue
        candidates = extract(line, kb)
        if cut and candidates:
            candidates = _before_a_cut_url(line, candidates)
        if not candidates:
            continue
        number += block.count("\n", counted, start)
        counted = start
        programs = ProgramLookup(line, kb)
        yield ScanHit(number, line, [cache.classify(c, kb, programs) for c in candidates], cut)


def _before_a_cut_url(line: str, candidates: list[Candidate]) -> list[Candidate]:
    """The candidates of a cut line, less those in its last run of non-space characters when that run
    holds a URL: the cut may fall inside its credentials, before the "@" that shows where they end."""
    words = line.rsplit(None, 1)
    tail = len(line) - len(words[-1]) if words else 0
    if "://" not in line[tail:]:
        return candidates
    return [c for c in candidates if c.span[1] <= tail]


GroupKind = Literal["diagnosis", "error", "endpoint", "term"]
GROUP_KINDS: tuple[GroupKind, ...] = ("diagnosis", "error", "endpoint", "term")
_GROUP_OF: dict[str, GroupKind] = {
    "error": "error",
    "term": "term",
    "endpoint": "endpoint",
    "address": "endpoint",
    "url": "endpoint",
    "port": "endpoint",
    "network": "endpoint",
}


class ScanGroup:
    """One distinct thing found in a log: how many lines hold it, the first and the last of them.

    `sample` is its first finding (for endpoints, errors and terms); `lead` the title and summary of a
    diagnosis (the lead of the lines' answers). (A plain class: `explain` must not import dataclasses.)
    """

    __slots__ = ("count", "first", "key", "kind", "last", "lead", "sample")

    def __init__(
        self,
        kind: GroupKind,
        key: str,
        number: int,
        sample: Finding | None = None,
        lead: tuple[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.key = key
        self.count = 1
        self.first = self.last = number
        self.sample = sample
        self.lead = lead


class ScanSummary:
    """The distinct things found in a log, grouped by kind and counted by line, in bounded memory.

    Each kind keeps at most `capacity` groups; lines holding further distinct things of that kind are
    counted in `overflow` (a log in which nothing repeats would otherwise grow a group per line).
    """

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.lines_with_findings = 0
        self.findings = 0
        self.groups: dict[GroupKind, dict[str, ScanGroup]] = {kind: {} for kind in GROUP_KINDS}
        self.overflow: dict[GroupKind, int] = dict.fromkeys(GROUP_KINDS, 0)

    def add(self, hit: ScanHit, lead: tuple[str, str]) -> None:
        """Count one line with findings; `lead` is the title and summary of its answer."""
        self.lines_with_findings += 1
        self.findings += len(hit.findings)
        self._count("diagnosis", lead[0], hit.number, None, lead)
        seen: set[tuple[GroupKind, str]] = set()
        for f in hit.findings:
            kind = _GROUP_OF[f.kind]
            if kind == "error":
                key = f.error or f.text
            elif kind == "term":
                key = f.term or f.text.casefold()
            else:
                key = f.text.casefold()
            if (kind, key) not in seen:
                seen.add((kind, key))
                self._count(kind, key, hit.number, f, None)

    def _count(
        self, kind: GroupKind, key: str, number: int, sample: Finding | None, lead: tuple[str, str] | None
    ) -> None:
        groups = self.groups[kind]
        group = groups.get(key)
        if group is not None:
            group.count += 1
            group.last = number
        elif len(groups) < self.capacity:
            groups[key] = ScanGroup(kind, key, number, sample, lead)
        else:
            self.overflow[kind] += 1

    def ranked(self, kind: GroupKind) -> list[ScanGroup]:
        """The groups of one kind, the most frequent first (then by first line)."""
        return sorted(self.groups[kind].values(), key=lambda g: (-g.count, g.first))
