"""`scan` reports exactly the lines for which `find` finds something, however the text is cut up."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core import explanation, find, scan
from bot.core.knowledge import Knowledge
from bot.core.scan import LINE_LIMIT, FindingCache, ScanSummary
from bot.kb import load_knowledge

_KB = load_knowledge()
LINE_PIECES = st.sampled_from(
    [
        "lol yeah", "the meeting moved to 3pm", "version 2 is faster", "ok.", "e.g. this", " ", "\t",
        "127.0.0.1:62893", "port 5432", "ssh 22", "-p 3000", "(10061)", "ECONNREFUSED", "localhost",
        "lookup db on x", "http://localhost:5173", "[::1]:8080", "10.0.0.0/8", "node.js", "resolv.conf",
        "host.docker.internal", "é", "İ", "端口", "ſ", "\r",
        *sorted(_KB.aliases)[::7], *sorted(_KB.error_messages)[::5], *sorted(_KB.banners)[::9],
    ]
)  # fmt: skip
LINES = st.lists(st.lists(LINE_PIECES | st.text(max_size=4), max_size=6).map("".join), max_size=12)


def line_by_line(text: str, kb: Knowledge) -> list[tuple[int, str, list[object]]]:
    out: list[tuple[int, str, list[object]]] = []
    for number, line in enumerate(text.split("\n"), start=1):
        findings = find(line, kb)
        if findings:
            out.append((number, line, list(findings)))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=LINES, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6), end=st.booleans())
@example(lines=["lol", "ssh 22", "", "what is an ephemeral port?"], cuts=[5], end=False)
def test_scan_reports_the_lines_find_reports(lines: list[str], cuts: list[int], end: bool) -> None:
    text = "\n".join(lines) + ("\n" if end else "")
    points = sorted({min(c, len(text)) for c in cuts})
    chunks = [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]
    got = [(hit.number, hit.line, list(hit.findings)) for hit in scan(chunks, _KB)]
    assert got == line_by_line(text, _KB)


def test_a_chatter_only_log_reports_nothing() -> None:
    chatter = "lol yeah that's what I thought\nthanks, that worked!\nthe meeting moved to 3pm\n" * 500
    assert list(scan([chatter], _KB)) == []


def test_line_numbers_count_every_line_of_every_chunk() -> None:
    text = "hello\n" * 1000 + "connect ECONNREFUSED 127.0.0.1:5432\n" + "bye\n" * 10 + "port 8080"
    [first, second] = scan([text[:3000], text[3000:]], _KB)
    assert (first.number, second.number) == (1001, 1012)
    assert second.line == "port 8080"


def test_a_line_longer_than_the_limit_is_read_up_to_it_and_marked_cut() -> None:
    line = "connect ECONNREFUSED 127.0.0.1:5432 " + "x " * LINE_LIMIT + "port 8080"
    for chunks in ([line + "\nport 22\n"], [line[:1000], line[1000:50_000], line[50_000:] + "\nport 22"]):
        first, second = scan(chunks, _KB)
        assert (first.number, first.cut, first.line) == (1, True, line[:LINE_LIMIT])
        assert first.findings == find(line[:LINE_LIMIT], _KB)
        assert (second.number, second.cut, second.line) == (2, False, "port 22")


def _one_line(size: int, piece: str) -> Iterator[str]:
    """A line of `size` characters without a newline, in pieces (the same string object each time)."""
    yield "connect ECONNREFUSED 127.0.0.1:5432 "
    for _ in range(size // len(piece)):
        yield piece


def _cpu_seconds(size: int, piece: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        [hit] = scan(_one_line(size, piece), _KB)
        best = min(best, time.process_time() - start)
    assert hit.cut and hit.findings[0].error == "ECONNREFUSED"
    return best


def test_one_long_line_without_a_newline_takes_time_linear_in_its_length() -> None:
    # Issue 16: the partial line was copied again for every piece, so 4x the input took 16x the time.
    piece = "y" * 1024
    small, large = _cpu_seconds(2 << 20, piece), _cpu_seconds(16 << 20, piece)
    assert large / small < 20  # 8x the input: linear gives about 8x, quadratic 64x


def test_one_long_line_without_a_newline_is_read_in_constant_memory() -> None:
    piece = "y" * (1 << 16)
    peaks = []
    for size in (4 << 20, 32 << 20):
        tracemalloc.start()
        [hit] = scan(_one_line(size, piece), _KB)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert hit.cut
    assert max(peaks) < 1 << 20  # a line kept up to LINE_LIMIT characters, not the 32 MiB read
    assert peaks[1] < peaks[0] * 1.5


def test_the_finding_cache_classifies_each_distinct_thing_once_with_the_same_result() -> None:
    lines = ["connect ECONNREFUSED 127.0.0.1:5432", "DevTools listening on ws://127.0.0.1:9222/x"] * 50
    cache = FindingCache()
    hits = list(scan(["\n".join(lines)], _KB, cache))
    assert [h.findings for h in hits] == [find(line, _KB) for line in lines]
    distinct = {(f.kind, f.text, f.program) for h in hits for f in h.findings}
    assert cache.misses == len(distinct) and cache.hits == sum(len(h.findings) for h in hits) - len(distinct)


SUMMARY_LOG = """hello
connect ECONNREFUSED 127.0.0.1:5432
the build is green
curl: (7) Failed to connect to localhost port 8080: Connection refused
Error: connect ECONNREFUSED 127.0.0.1:5432
listen EADDRINUSE: address already in use :::3000
what is an ephemeral port?
"""


def _summary(text: str) -> ScanSummary:
    summary = ScanSummary()
    for hit in scan([text], _KB):
        answer = explanation(hit.line, hit.findings, _KB).answer
        summary.add(hit, (answer.title, answer.summary))
    return summary


def test_the_summary_counts_each_distinct_thing_by_line_with_its_first_and_last_line() -> None:
    summary = _summary(SUMMARY_LOG)
    assert (summary.lines_with_findings, summary.findings) == (
        5,
        sum(len(find(x, _KB)) for x in SUMMARY_LOG.split("\n")),
    )
    errors = [(g.key, g.count, g.first, g.last) for g in summary.ranked("error")]
    assert errors == [("ECONNREFUSED", 3, 2, 5), ("EADDRINUSE", 1, 6, 6)]
    endpoints = {g.key: (g.count, g.first, g.last) for g in summary.ranked("endpoint")}
    assert endpoints["127.0.0.1:5432"] == (2, 2, 5)
    assert summary.ranked("endpoint")[0].key == "127.0.0.1:5432"  # the most frequent first
    assert [g.key for g in summary.ranked("term")] == ["ephemeral-port"]
    # the two refusals of 127.0.0.1:5432 have one diagnosis (PostgreSQL isn't running); localhost:8080's
    # refusal has its own
    [refused, *_] = summary.ranked("diagnosis")
    assert refused.count == 2 and (refused.first, refused.last) == (2, 5)
    assert refused.lead is not None and "127.0.0.1:5432" in refused.lead[0]


def test_the_summary_keeps_at_most_its_capacity_of_groups_and_counts_the_rest() -> None:
    summary = ScanSummary(capacity=10)
    for hit in scan(["".join(f"port {1000 + n}\n" for n in range(25))], _KB):
        summary.add(hit, (hit.line, ""))
    assert len(summary.groups["endpoint"]) == len(summary.groups["diagnosis"]) == 10
    assert summary.overflow["endpoint"] == summary.overflow["diagnosis"] == 15
