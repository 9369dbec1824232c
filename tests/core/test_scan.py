"""`scan` reports exactly the lines for which `find` finds something, however the text is cut up."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.core import find, scan
from bot.core.knowledge import Knowledge
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
