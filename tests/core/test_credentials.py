"""Where a URL's user-info ends (`bot.core.credentials`), and that finding it is linear in the text."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from bot.core import explain, scan
from bot.core.credentials import mask_credentials, redact_credentials, userinfo_spans
from bot.core.knowledge import Knowledge


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # the two leaks: an "@" and a "/" in the password
        ("postgres://admin:p@ss2word@db:5432/app", "postgres://***@db:5432/app"),
        ("redis://:pa/ss3@127.0.0.1:6379", "redis://***@127.0.0.1:6379"),
        ("see https://bob:secret@example.com/x", "see https://***@example.com/x"),
        ("postgres://u:p%40ss%2Fw@db/app", "postgres://***@db/app"),  # percent-escaped
        ("mongodb://u:p?ss#w@h:27017", "mongodb://***@h:27017"),  # "?" and "#" unescaped
        ("amqp://u:12/ab@rabbit", "amqp://***@rabbit"),
        ('DATABASE_URL="postgres://u:p\'"ss@db/app"', 'DATABASE_URL="postgres://***@db/app"'),
        ("a@b https://x.example/ c@d", "a@b https://x.example/ c@d"),  # "@"s outside URLs stay
        ("git+ssh://git@github.com/a/b.git", "git+ssh://***@github.com/a/b.git"),
        # an "@" in the path of a URL whose authority is plainly a host is not user-info
        ("https://unpkg.com/react@18/umd/react.js", "https://unpkg.com/react@18/umd/react.js"),
        ("https://medium.com/@someone/post", "https://medium.com/@someone/post"),
        ("GET http://localhost:5173/@vite/client 404", "GET http://localhost:5173/@vite/client 404"),
        ("http://web:5173/@vite/client", "http://web:5173/@vite/client"),
        ("http://localhost:3000/?next=a@b.example", "http://localhost:3000/?next=a@b.example"),
        ("x://@host", "x://@host"),  # nothing to hide
    ],
)
def test_the_user_info_ends_at_the_last_at_before_the_host(text: str, shown: str) -> None:
    assert redact_credentials(text) == shown
    masked = mask_credentials(text)
    assert len(masked) == len(text) and masked.replace("*", "") == shown.replace("*", "")


def test_spans_are_exact_and_each_ends_at_an_at_sign() -> None:
    text = "a postgres://u:p@ss@db/x and redis://:pa/ss@10.0.0.2:6379 end"
    spans = userinfo_spans(text)
    assert [text[s:e] for s, e in spans] == ["u:p@ss", ":pa/ss"]
    assert all(text[e] == "@" for _, e in spans)


def test_findings_never_carry_any_part_of_a_password(kb: Knowledge) -> None:
    exp = explain("postgres://admin:p@ss2word@db:5432/app and mongodb://u:1.2.3.4:80@h:27017", kb)
    assert [(f.text, f.host) for f in exp.findings] == [
        ("postgres://***@db:5432/app", "db"),
        ("mongodb://***@h:27017", "h"),
    ]  # and no endpoint 1.2.3.4:80 read out of the second password


def test_a_cut_through_a_password_leaves_none_of_it(kb: Knowledge) -> None:
    text = "x" * 19_990 + " postgres://admin:p4ssw0rd-that-crosses-the-cut@db:5432/app"
    assert "p4ss" not in str(explain(text, kb).to_json())


# -- linear time ------------------------------------------------------------------------------------


def _ratio(work: Callable[[str], object], small: str, large: str) -> float:
    """CPU time on `large` over CPU time on `small`: the best of three rounds, taken in turns, each of
    enough calls to take 20 ms (CPU time, not wall time: other processes on the machine don't count)."""
    calls = 1
    while _seconds(work, small, calls) < 0.02 and calls < 10_000:
        calls *= 2
    rounds = [(_seconds(work, small, calls), _seconds(work, large, calls)) for _ in range(3)]
    return min(t for _, t in rounds) / min(t for t, _ in rounds)


def _seconds(work: Callable[[str], object], text: str, calls: int) -> float:
    start = time.process_time()
    for _ in range(calls):
        work(text)
    return time.process_time() - start


ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "dotted run then @": lambda n: "a." * n + "@",  # the 20-30 s input
    "schemes then @": lambda n: "a://" * n + "@",
    "long scheme then @s": lambda n: "a." * n + "://" + "b@" * n,
    "slash-at path": lambda n: "x://h" + "/@" * n + "@h",
    "colons then @": lambda n: "x://" + "a:" * n + "@",
    "bare separators": lambda n: "://" * n + "@",
    "many urls": lambda n: "p://u:p@h/ " * (n // 4),
}


@pytest.mark.parametrize("family", sorted(ADVERSARIAL))
def test_redaction_time_grows_linearly_on_adversarial_input(family: str) -> None:
    make = ADVERSARIAL[family]
    small, large = make(10_000), make(80_000)  # eight times longer
    ratio = _ratio(redact_credentials, small, large)
    assert ratio < 20, f"{family}: 8x the input took {ratio:.1f}x the time (quadratic would be 64x)"


@pytest.mark.parametrize("family", ["dotted run then @", "schemes then @", "slash-at path"])
def test_explain_json_time_grows_linearly_on_adversarial_input(family: str, kb: Knowledge) -> None:
    # The JSON redacts the whole query, beyond the 20,000 characters extraction reads.
    make = ADVERSARIAL[family]
    small, large = make(5_000), make(40_000)
    ratio = _ratio(lambda text: explain(text, kb).to_json(), small, large)
    assert ratio < 20, f"{family}: 8x the input took {ratio:.1f}x the time (quadratic would be 64x)"


@pytest.mark.parametrize("offset", [19_960, 19_965, 19_970])  # the cut falls in "admin:p4ssw0rd"
@pytest.mark.parametrize("pieces", [1, 7])  # one piece, or a line arriving in several
def test_a_scan_line_cut_through_a_password_leaves_none_of_it(
    offset: int, pieces: int, kb: Knowledge
) -> None:
    line = "127.0.0.1:5432 " + "x" * offset + " postgres://admin:p4ssw0rd@db:5432/app " + "y" * 3_000 + "\n"
    size = -(-len(line) // pieces)
    hits = list(scan([line[i : i + size] for i in range(0, len(line), size)], kb))
    assert [h.cut for h in hits] == [True]
    shown = [f.text for h in hits for f in h.findings]
    assert shown[0] == "127.0.0.1:5432"
    assert not any("admin" in text or "p4ss" in text for text in shown)
