"""`netexplain explain` on awkward input: bytes that are not UTF-8, terminals that are not UTF-8, text
longer than it reads. Input is input: it is answered, never "something went wrong on our side"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core import explain
from bot.core.extract import MAX_TEXT
from bot.core.knowledge import Knowledge

REPO = Path(__file__).resolve().parent.parent
INVALID = b"connect ECONNREFUSED \xff\xfe\xc3 127.0.0.1:5432"


def run(args: list[str | bytes], stdin: bytes = b"", **env: str) -> subprocess.CompletedProcess[bytes]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONIO", "PYTHONUTF8", "LC_"))}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        env=environment,
        cwd=REPO,
        timeout=60,
    )


LOCALES = {
    "strict UTF-8": {"PYTHONIOENCODING": "utf-8:strict"},
    "UTF-8 mode": {"PYTHONUTF8": "1"},
    "C locale": {"LC_ALL": "C"},
}


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_invalid_utf8_on_stdin_is_answered_with_replacement_characters(locale: str) -> None:
    result = run(["explain", "--json", "-"], INVALID, **LOCALES[locale])
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.decode("utf-8"))  # strict: the output is valid UTF-8
    assert "\ufffd" in doc["query"] and "ECONNREFUSED" in doc["query"]
    assert {f["text"] for f in doc["findings"]} >= {"ECONNREFUSED", "127.0.0.1:5432"}
    text = run(["explain", "-"], INVALID, **LOCALES[locale])
    assert text.returncode == 0 and text.stderr == b""
    assert "127.0.0.1:5432" in text.stdout.decode("utf-8")  # the answer is about the endpoint refused


def test_invalid_bytes_in_the_arguments_never_reach_the_output() -> None:
    result = run(["explain", "--json", b"\xff\xfeport 5432"], PYTHONUTF8="1")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.decode("utf-8"))
    assert doc["query"] == "\ufffd\ufffdport 5432"


def test_a_terminal_that_is_not_utf8_gets_ascii_json_and_question_marks() -> None:
    result = run(["explain", "--json", "8000端口 refused"], PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii()
    assert json.loads(result.stdout)["findings"][0]["port"]["number"] == 8000
    text = run(["explain", "8000端口"], PYTHONIOENCODING="ascii")
    assert text.returncode == 0 and text.stderr == b"" and text.stdout.isascii()


# -- text longer than extraction reads -------------------------------------------------------------


def test_a_finding_past_the_cut_is_not_nothing_it_is_a_cut(kb: Knowledge) -> None:
    text = "chatter " * 3_000 + "connect ECONNREFUSED 127.0.0.1:5432"
    assert len(text) > MAX_TEXT
    exp = explain(text, kb)
    assert not exp.findings and exp.read == MAX_TEXT
    assert exp.answer.title == "Nothing to explain in the first 20,000 characters"
    assert f"{len(text):,} characters long" in exp.answer.summary
    assert exp.to_json()["read"] == MAX_TEXT
    assert "read" not in explain("port 5432", kb).to_json()  # only a cut text carries it


def test_the_command_line_says_the_text_was_cut() -> None:
    tail = b" chatter" * 3_000
    nothing = run(["explain", "-"], b"hello" + tail)
    assert b"Nothing to explain in the first 20,000 characters" in nothing.stdout
    found = run(["explain", "-"], b"port 5432" + tail)
    assert b"Only the first 20,000 of 24,009 characters were read." in found.stdout
    doc = json.loads(run(["explain", "--json", "-"], b"port 5432" + tail).stdout)
    assert doc["read"] == MAX_TEXT and doc["findings"]


@pytest.mark.parametrize("locale", sorted(LOCALES))
def test_scan_reads_invalid_utf8_on_stdin_as_replacement_characters(locale: str) -> None:
    result = run(["scan", "--json", "-"], INVALID + b"\nhello\n", **LOCALES[locale])
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.decode("utf-8").splitlines()  # strict: valid UTF-8
    doc = json.loads(line)
    assert doc["line"] == 1 and "\ufffd" in doc["query"]
