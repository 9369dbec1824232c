"""A password in a pasted URL never comes back: not in the command line's text or JSON, a scan, the
bot's embeds, the playground's preview, or a log line, whatever characters it holds.

Each generated password carries three markers (start, middle, end, between `@`, `/`, `:`, `?`, `#`,
quotes and percent-escapes); no output may hold any of them, so a partial leak fails too. The one
shape left out is the one `bot.core.credentials` documents: a password that starts with a port number
and an unescaped "/", "?" or "#", which every URL parser reads as `host:port/path`.
"""

from __future__ import annotations

import io
import json
import logging
import re
import string
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from bot.cli import cmd_explain
from bot.core import explain, explanation, scan
from bot.core.knowledge import Knowledge
from bot.logs import JsonFormatter, Redactor
from bot.playground.preview import preview_text
from bot.render import quote_inline, render_compact, render_explanation
from bot.terminal import render_explanation as render_terminal
from bot.terminal import render_scan_line
from tests.test_cli import REPO

MARKERS = ("Kq7", "Vw8", "Jz5")
PRINTABLE = string.ascii_letters + string.digits + "@/:%?#!$&'()*+,;=-._~\"<>[]`{}|\\^"
PIECE = st.one_of(
    st.text(alphabet=PRINTABLE, max_size=8),
    st.sampled_from(["@", "/", ":", "%40", "%2F", "%3A", "%25", "@/", "/@", "5432/", "?", "#"]),
)
PASSWORD = st.tuples(PIECE, PIECE, PIECE, PIECE).map(
    lambda p: p[0] + MARKERS[0] + p[1] + MARKERS[1] + p[2] + MARKERS[2] + p[3]
)
USER = st.text(alphabet=string.ascii_letters + string.digits + "._-%@", max_size=10)
SCHEME = st.sampled_from(["postgres", "postgresql", "redis", "mongodb+srv", "amqp", "mysql", "http", "https"])
HOST = st.sampled_from(
    [
        "db",
        "db.internal",
        "127.0.0.1",
        "10.0.0.5",
        "[::1]",
        "localhost",
        "example.com",
        "c0.ab1cd.mongodb.net",
    ]
)
PORT = st.sampled_from(["", ":5432", ":6379", ":62893", ":3000"])
PATH = st.sampled_from(["", "/", "/app", "/app?sslmode=require", "/@scope/pkg", "/x@y", "/0"])
AROUND = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "connect ECONNREFUSED ",
        "DATABASE_URL=",
        '"',
        "url: ",
        "'",
        " and ",
        " port 5432 ",
        "@",
        "x",
    ]
)


@st.composite
def pasted_urls(draw: st.DrawFn) -> tuple[str, str]:
    """(text holding a URL with a password, the password)."""
    password = draw(PASSWORD)
    assume(not re.match(r"\d{1,5}[/?#]", password))  # `user:5432/…` reads as host:port/path
    url = f"{draw(SCHEME)}://{draw(USER)}:{password}@{draw(HOST)}{draw(PORT)}{draw(PATH)}"
    return draw(AROUND) + url + draw(AROUND), password


def everything_shown_for(text: str, kb: Knowledge) -> list[str]:
    """Every output a front end makes from `text`, as text."""
    exp = explain(text, kb)
    out = [json.dumps(exp.to_json(), ensure_ascii=False), render_terminal(exp)]
    for as_json in (False, True):  # the command line, in this process
        written = io.StringIO()
        cmd_explain(text, as_json, written)
        out.append(written.getvalue())
    for hit in scan([text], kb):  # `netexplain scan`, text and JSON
        out.append(render_scan_line(hit.number, hit.findings))
        out.append(json.dumps(explanation(hit.line, hit.findings, kb).to_json(), ensure_ascii=False))
    if exp.found_anything:
        out += [json.dumps(e.to_dict(), ensure_ascii=False) for e in render_explanation(exp).embeds]
        brief = explain(text, kb, passive=True, brief=True)
        if brief.found_anything:
            out += [json.dumps(e.to_dict(), ensure_ascii=False) for e in render_compact(brief).embeds]
    out.append(quote_inline(text))
    out.append(json.dumps(preview_text(text, kb), ensure_ascii=False))
    record = logging.LogRecord(
        "netexplain", logging.WARNING, __file__, 1, "could not answer %r", (text,), None
    )
    out += [Redactor(formatter, []).format(record) for formatter in (logging.Formatter(), JsonFormatter())]
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=pasted_urls())
@example(case=("postgres://admin:p@ss2word@db:5432/app", "p@ss2word"))
@example(case=("redis://:pa/ss3@127.0.0.1:6379", "pa/ss3"))
def test_no_output_holds_any_part_of_a_password(case: tuple[str, str], kb: Knowledge) -> None:
    text, password = case
    markers = [m for m in MARKERS if m in password] or [password]
    for shown in everything_shown_for(text, kb):
        lowered = shown.lower()
        assert not [m for m in markers if m.lower() in lowered], (text, shown)


@pytest.mark.parametrize("as_json", [False, True])
def test_the_command_line_hides_the_issues_passwords(as_json: bool) -> None:
    for url, secret in (
        ("postgres://admin:p@ss2word@db:5432/app", "ss2word"),
        ("redis://:pa/ss3@127.0.0.1:6379", "ss3"),
    ):
        args = [sys.executable, "-m", "bot.cli", "explain", *(["--json"] if as_json else []), url]
        run = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=60)
        assert run.returncode == 0, run.stderr
        assert secret not in run.stdout and "***@" in run.stdout
