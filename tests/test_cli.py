"""The `netexplain` command line, run as a user runs it: a subprocess with its own cache directory."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
CONTRACT_KEYS = {"query", "triggered", "findings", "diagnosis", "answer"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a user without a Discord token, with a cache private to this module."""
    out = {k: v for k, v in os.environ.items() if k not in ("DISCORD_TOKEN", "NETEXPLAIN_KNOWLEDGE")}
    out["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("cache"))
    out["PYTHONPATH"] = str(REPO)
    return out


def netexplain(
    env: dict[str, str], *args: str, stdin: str = "", cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )


def test_explain_json_prints_one_object_with_the_contract_keys(env: dict[str, str]) -> None:
    run = netexplain(env, "explain", "--json", "127.0.0.1:62893")
    assert run.returncode == 0, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)  # exactly one JSON value, nothing else
    assert set(doc) == CONTRACT_KEYS
    assert doc["query"] == "127.0.0.1:62893"
    assert doc["triggered"] is True
    [f] = doc["findings"]
    assert f["kind"] == "endpoint" and f["span"] == [0, 15]
    assert f["port"]["ephemeral_on"] == ["freebsd", "macos", "windows"]
    assert set(doc["answer"]) == {"title", "summary", "sections", "references"}
    assert run.stderr == ""


def test_explain_joins_several_words_into_one_query(env: dict[str, str]) -> None:
    run = netexplain(env, "explain", "--json", "connect", "ECONNREFUSED", "::1:5432")
    doc = json.loads(run.stdout)
    assert doc["query"] == "connect ECONNREFUSED ::1:5432"
    assert [f["kind"] for f in doc["findings"]] == ["error", "endpoint"]


def test_explain_dash_reads_standard_input(env: dict[str, str]) -> None:
    run = netexplain(
        env, "explain", "--json", "-", stdin="listen EADDRINUSE: address already in use :::3000\n"
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert "EADDRINUSE" in {f.get("error") for f in doc["findings"]}
    assert any(f["kind"] == "endpoint" and f["port"]["number"] == 3000 for f in doc["findings"])


def test_explain_for_a_person_is_plain_text_without_colour(env: dict[str, str]) -> None:
    run = netexplain(env, "explain", "127.0.0.1:62893")
    assert run.returncode == 0, run.stderr
    assert "loopback" in run.stdout and "62893" in run.stdout
    assert "\x1b[" not in run.stdout  # not a terminal: no escape codes
    with pytest.raises(json.JSONDecodeError):
        json.loads(run.stdout)


def test_explain_with_nothing_found_says_so(env: dict[str, str]) -> None:
    run = netexplain(env, "explain", "--json", "hello there")
    doc = json.loads(run.stdout)
    assert doc["findings"] == [] and doc["triggered"] is False
    assert doc["answer"]["title"] == "Nothing to explain here"


LOG = """\
starting up
everything is fine
Error: connect ECONNREFUSED 127.0.0.1:5432
lunch?
DevTools listening on ws://127.0.0.1:9222/devtools/browser/abc
"""


def test_scan_prints_only_the_lines_with_findings(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(LOG, encoding="utf-8")
    run = netexplain(env, "scan", str(log))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("3:") and "ECONNREFUSED" in lines[0]
    assert lines[1].startswith("5:") and "9222" in lines[1]


SCAN_LINE_KEYS = {"line", "query", "triggered", "findings", "lead"}


def test_scan_json_gives_each_line_its_findings_and_the_lead_of_its_answer(env: dict[str, str]) -> None:
    run = netexplain(env, "scan", "--json", "-", stdin=LOG)
    assert run.returncode == 0, run.stderr
    docs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [d["line"] for d in docs] == [3, 5]
    for doc in docs:
        assert set(doc) == SCAN_LINE_KEYS
        alone = json.loads(netexplain(env, "explain", "--json", doc["query"]).stdout)
        assert doc["findings"] == alone["findings"]
        assert doc["lead"] == {"title": alone["answer"]["title"], "summary": alone["answer"]["summary"]}
    assert docs[0]["query"] == "Error: connect ECONNREFUSED 127.0.0.1:5432"


def test_scan_json_says_how_much_of_a_line_longer_than_20000_characters_it_read(env: dict[str, str]) -> None:
    log = "port 22\n" + "connect ECONNREFUSED 127.0.0.1:5432 " + "x" * 30_000 + "\n"
    run = netexplain(env, "scan", "--json", "-", stdin=log)
    short, long = (json.loads(line) for line in run.stdout.splitlines())
    assert "read" not in short
    assert long["read"] == 20_000 and len(long["query"]) == 20_000 and long["findings"]


def test_scan_answers_adds_the_full_answer_of_each_line(env: dict[str, str]) -> None:
    run = netexplain(env, "scan", "--answers", "-", stdin=LOG)
    assert run.returncode == 0, run.stderr
    docs = [json.loads(line) for line in run.stdout.splitlines()]
    assert [d["line"] for d in docs] == [3, 5]
    for doc in docs:
        assert set(doc) == SCAN_LINE_KEYS | {"answer"}
        alone = json.loads(netexplain(env, "explain", "--json", doc["query"]).stdout)
        assert doc["answer"] == alone["answer"]


SUMMARY_LOG = """hello
connect ECONNREFUSED 127.0.0.1:5432
the build is green
curl: (7) Failed to connect to localhost port 8080: Connection refused
Error: connect ECONNREFUSED 127.0.0.1:5432
listen EADDRINUSE: address already in use :::3000
"""


def test_scan_summary_json_is_one_document_of_groups_with_counts_and_line_numbers(
    env: dict[str, str],
) -> None:
    run = netexplain(env, "scan", "--summary", "--json", "-", stdin=SUMMARY_LOG)
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["lines"], doc["lines_with_findings"]) == (6, 4)
    assert doc["bytes"] == len(SUMMARY_LOG.encode())
    [refused, in_use] = doc["errors"]
    assert (refused["count"], refused["first_line"], refused["last_line"]) == (3, 2, 5)
    assert (in_use["count"], in_use["first_line"], in_use["last_line"]) == (1, 6, 6)
    assert "ECONNREFUSED" in refused["title"] and refused["summary"]
    endpoint = doc["endpoints"][0]
    assert (endpoint["text"], endpoint["count"], endpoint["first_line"], endpoint["last_line"]) == (
        "127.0.0.1:5432",
        2,
        2,
        5,
    )
    counts = [g["count"] for g in doc["diagnoses"]]
    # the two refusals on PostgreSQL's 127.0.0.1:5432 share one diagnosis; localhost:8080's is its own
    assert counts == sorted(counts, reverse=True) and counts[0] == 2


def test_scan_summary_on_a_terminal_by_default_and_lines_or_json_on_request(env: dict[str, str]) -> None:
    import pty

    outputs = {}
    for args in ((), ("--lines",), ("--json",)):
        leader, follower = pty.openpty()
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "scan", *args, "-"],
            stdin=subprocess.PIPE,
            stdout=follower,
            stderr=subprocess.PIPE,
            env=env,
            cwd=REPO,
        )
        os.close(follower)
        _, stderr = proc.communicate(SUMMARY_LOG.encode(), timeout=60)
        outputs[args] = _read_all(leader)
        assert proc.returncode == 0 and stderr == b""  # standard error is no terminal: no progress
    summary, lines = outputs[()], outputs[("--lines",)]
    assert "6 lines read, 4 with findings" in summary
    assert "3×  Connection refused (ECONNREFUSED)  (lines 2–5)" in summary
    assert "Endpoints" in summary and "Errors" in summary
    assert lines.splitlines()[0].startswith("2:") and "lines read" not in lines
    assert json.loads(outputs[("--json",)].splitlines()[0])["line"] == 2  # JSON stays per line


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(fd)
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_scan_shows_progress_on_standard_error_only_when_it_is_a_terminal(env: dict[str, str]) -> None:
    import pty
    import time

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "scan", "--json", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=follower,
        env=env,
        cwd=REPO,
    )
    os.close(follower)
    assert proc.stdin is not None
    proc.stdin.write(b"hello\nconnect ECONNREFUSED 127.0.0.1:5432\n")
    proc.stdin.flush()
    assert proc.stdout is not None and proc.stdout.readline()  # the first piece is read and scanned
    time.sleep(0.7)  # the progress line is drawn at most twice a second, after a piece is read
    proc.stdin.write(b"port 8080\n" * 3)
    stdout, _ = proc.communicate(timeout=60)
    progress = _read_all(leader)
    assert proc.returncode == 0
    # drawn after the second piece was read (5 lines), before it was scanned (the findings of line 2)
    assert re.fullmatch(r"\r\x1b\[Kscan: 0\.0 MB, 5 lines, 2 findings, [0-9.]+ MB/s\r\x1b\[K", progress)
    assert len(stdout.splitlines()) == 3  # the output itself is untouched (and the first line read above)


def test_scan_of_a_generated_stream_keeps_peak_memory_flat(env: dict[str, str]) -> None:
    # The stream is mostly chatter, a line in 200 with findings, and one 2 MB line without a newline.
    def peak_mib(lines: int) -> float:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "scan", "--json", "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=env,
            cwd=REPO,
        )
        assert proc.stdin is not None
        block = ("lol yeah that's what I thought\n" * 199 + "connect ECONNREFUSED 127.0.0.1:5432\n").encode()
        for _ in range(lines // 200):
            proc.stdin.write(block)
        proc.stdin.write(b"x " * (1 << 20))
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        proc.returncode = 0
        return usage.ru_maxrss / 1024

    small, large = peak_mib(100_000), peak_mib(400_000)  # about 3.5 MB and 14 MB of log
    assert large - small < 8, (small, large)


def test_scan_of_chatter_prints_nothing(env: dict[str, str]) -> None:
    run = netexplain(env, "scan", stdin="hi\nhow are you\nfine thanks\n")
    assert run.returncode == 0 and run.stdout == ""


def test_scan_reads_windows_line_ends_like_unix_ones(env: dict[str, str], tmp_path: Path) -> None:
    crlf = LOG.replace("\n", "\r\n")
    log = tmp_path / "windows.log"
    log.write_bytes(crlf.encode("utf-8"))
    from_file = netexplain(env, "scan", "--json", str(log))
    from_stdin = netexplain(env, "scan", "--json", "-", stdin=crlf)
    assert from_file.stdout == from_stdin.stdout == netexplain(env, "scan", "--json", "-", stdin=LOG).stdout
    assert [json.loads(line)["line"] for line in from_file.stdout.splitlines()] == [3, 5]


def test_scan_of_standard_input_answers_each_line_as_it_arrives(env: dict[str, str]) -> None:
    # `tail -f app.log | netexplain scan`: an answer must not wait for more input or for the end.
    quiet = {k: v for k, v in env.items() if k != "PYTHONUNBUFFERED"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "scan", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=quiet,
        cwd=REPO,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("hello\nconnect ECONNREFUSED 127.0.0.1:5432\n")
        proc.stdin.flush()
        answered: list[str] = []
        reader = threading.Thread(target=lambda: answered.append(proc.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=30)
        assert answered and answered[0].startswith("2:") and "ECONNREFUSED" in answered[0]
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_scan_of_a_missing_file_is_one_sentence_and_exit_1(env: dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "no-such.log"
    run = netexplain(env, "scan", str(missing))
    assert run.returncode == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "no-such.log" in run.stderr and "No such file" in run.stderr


def test_kb_check_exits_0_and_prints_counts(env: dict[str, str]) -> None:
    run = netexplain(env, "kb", "check")
    assert run.returncode == 0, run.stderr
    assert "knowledge base OK" in run.stdout
    for name in ("terms", "errors", "programs", "address blocks", "IANA ports"):
        line = next(ln for ln in run.stdout.splitlines() if ln.strip().startswith(f"{name}:"))
        assert int(line.split(":")[1]) > 0


def test_kb_check_on_a_broken_copy_names_the_file_and_exits_2(env: dict[str, str], tmp_path: Path) -> None:
    root = tmp_path / "knowledge"
    shutil.copytree(REPO / "knowledge", root)
    (root / "terms" / "nat.yaml").write_text("id: nat\ntitle: [oops\n", encoding="utf-8")
    run = netexplain({**env, "NETEXPLAIN_KNOWLEDGE": str(root)}, "kb", "check")
    assert run.returncode == 2
    assert "terms/nat.yaml" in run.stderr and "not valid YAML" in run.stderr
    assert "Traceback" not in run.stderr


def test_help_documents_every_command_and_json(env: dict[str, str]) -> None:
    run = netexplain(env, "--help")
    assert run.returncode == 0
    for word in ("explain", "scan", "kb", "run", "try", "sync", "--json"):
        assert word in run.stdout, word


@pytest.mark.parametrize("command", ["explain", "scan"])
def test_subcommand_help_documents_json(env: dict[str, str], command: str) -> None:
    run = netexplain(env, command, "--help")
    assert run.returncode == 0 and "--json" in run.stdout


def test_try_explains_the_demo_then_stdin_lines(env: dict[str, str]) -> None:
    run = netexplain(env, "try", stdin="port 5432\n")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "DISCORD_TOKEN" in out
    demo, typed = out.index("127.0.0.1:62893"), out.index("5432")
    assert demo < typed
    assert "PostgreSQL" in out[typed:]
    assert "Traceback" not in run.stderr


def test_try_ends_cleanly_at_eof_with_no_input(env: dict[str, str]) -> None:
    run = netexplain(env, "try", stdin="")
    assert run.returncode == 0, run.stderr
    assert "62893" in run.stdout


def test_run_without_a_token_is_one_sentence_and_a_non_zero_exit(env: dict[str, str]) -> None:
    run = netexplain(env, "run", stdin="")
    assert run.returncode != 0
    assert "DISCORD_TOKEN" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_no_command_prints_help(env: dict[str, str]) -> None:
    run = netexplain(env)
    assert run.returncode == 0
    assert "usage:" in run.stdout


def test_an_unknown_command_is_a_usage_error(env: dict[str, str]) -> None:
    run = netexplain(env, "frobnicate")
    assert run.returncode == 2
    assert "Traceback" not in run.stderr


# -- the quick path of `explain` --------------------------------------------------------------------

PLAIN_EXPLAIN_FORMS = [
    ["explain", "127.0.0.1:62893"],
    ["explain", "--json", "127.0.0.1:62893"],
    ["explain", "127.0.0.1:62893", "--json"],
    ["explain", "--json", "connect", "ECONNREFUSED", "::1:5432", "--json"],
    ["explain", "-"],
    ["explain", "-", "x"],
]
ARGPARSE_ONLY_FORMS = [
    [],
    ["explain"],
    ["explain", "--json"],
    ["explain", "-h"],
    ["explain", "--js", "x"],
    ["explain", "--", "-x"],
    ["explain", "-5"],
    ["explain", "a", "--json", "b"],
    ["scan", "x.log"],
    ["kb", "check"],
    ["explainx", "a"],
]


@pytest.mark.parametrize("argv", PLAIN_EXPLAIN_FORMS, ids=" ".join)
def test_the_quick_path_reads_plain_explain_forms_as_argparse_does(argv: list[str]) -> None:
    from bot.cli import _parser, _plain_explain

    quick = _plain_explain(argv)
    assert quick is not None
    assert vars(quick) == vars(_parser().parse_args(argv))


@pytest.mark.parametrize("argv", ARGPARSE_ONLY_FORMS, ids=lambda a: " ".join(a) or "nothing")
def test_everything_else_goes_to_argparse(argv: list[str]) -> None:
    from bot.cli import _plain_explain

    assert _plain_explain(argv) is None


def test_explain_starts_without_the_modules_it_does_not_need(env: dict[str, str]) -> None:
    # Start-up speed as a structure test (the timing is a benchmark): answering from the cache needs
    # neither argparse nor YAML, the schema, pickle, hashlib, pathlib nor anything of Discord.
    netexplain(env, "explain", "127.0.0.1:62893")  # the cache exists from here on
    script = (
        "import sys; from bot.cli import main; main(['explain', '127.0.0.1:62893']); "
        "print(sorted(set(sys.modules) & {'argparse', 'yaml', 'bot.kb.schema', 'pickle', 'hashlib', "
        "'pathlib', 'tempfile', 'json', 'discord', 'aiohttp', 'dataclasses', 'csv'}), file=sys.stderr)"
    )
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "62893" in run.stdout
    assert run.stderr.strip() == "[]"


def test_scan_json_never_echoes_url_credentials(env: dict[str, str]) -> None:
    log = "connecting to postgres://admin:s3cret@db.internal:5432/app\nhello\n"
    for args in (
        ("scan", "--json", "-"),
        ("scan", "-"),
        ("scan", "--summary", "--json", "-"),
        ("scan", "--answers"),
    ):
        run = netexplain(env, *args, stdin=log)
        assert run.returncode == 0, run.stderr
        assert "s3cret" not in run.stdout and "admin" not in run.stdout
        assert "postgres://***@db.internal:5432/app" in run.stdout


@pytest.mark.parametrize("locale", ["C", "C.UTF-8"])
def test_scan_reads_invalid_utf8_on_standard_input_as_replacement_characters(
    env: dict[str, str], locale: str
) -> None:
    log = b"\xff\xfe bad bytes\nconnect ECONNREFUSED 127.0.0.1:5432 \xc3\n"
    for args in (("scan", "--json", "-"), ("scan", "-")):
        run = subprocess.run(
            [sys.executable, "-m", "bot.cli", *args],
            input=log,
            capture_output=True,
            env={**env, "LC_ALL": locale, "PYTHONIOENCODING": ""},
            cwd=REPO,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        out = run.stdout.decode("utf-8")  # valid UTF-8, strictly
        assert out.startswith("2") or json.loads(out.splitlines()[0])["line"] == 2
        assert "ECONNREFUSED" in out
