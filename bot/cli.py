"""The `netexplain` command line: explain text, scan a log, check the knowledge base, run the bot.

Imports stay lazy: `netexplain explain` must start in tens of milliseconds, so nothing here pulls in
discord.py or aiohttp unless the command needs them, and the plain `explain TEXT` form is recognised
without building the argparse parser (argparse and what it imports cost more than the answer itself).
A subcommand is a `sub.add_parser` in `_parser`, a `cmd_*` function that imports its module, and a
branch in `_dispatch`.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import argparse

    from bot.core.knowledge import Knowledge
    from bot.core.model import Explanation
    from bot.core.scan import ScanGroup, ScanHit, ScanSummary

DEMO_QUERY = "127.0.0.1:62893"
HELP_EPILOG = """\
examples:
  netexplain explain 127.0.0.1:62893
  netexplain explain --json 'connect ECONNREFUSED ::1:5432'
  echo 'listen EADDRINUSE :::3000' | netexplain explain -
  netexplain scan server.log          (the distinct things found; --lines: each line with findings)
  netexplain scan --json - < app.log  (one JSON object per line with findings and its lead)
  netexplain kb check                 (validate the knowledge base)
  netexplain run                      (the Discord bot; needs DISCORD_TOKEN, see README for settings)
  netexplain playground               (no Discord account: a local Discord page with the real bot)
  netexplain try                      (no Discord account: explain 127.0.0.1:62893, then each line typed)
  netexplain sync --guild 1234        (publish slash commands after they change)

JSON (--json): {"query", "triggered", "findings": [{"kind", "text", "span", ...}], "answer": {"title",
"summary", "sections": [{"heading", "body"}], "references": [{"title", "url"}]}}. See docs/cli.md.
"""


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="netexplain",
        description="Explains the addresses, ports, URLs, networks and socket errors people paste into chat.",
        epilog=HELP_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("explain", help="explain TEXT (or '-' to read standard input)")
    p.add_argument("text", nargs="+", help="what to explain; '-' reads standard input")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p = sub.add_parser(
        "scan",
        help="what FILE (or standard input) holds to explain: a summary, or each line with findings",
        description="Scan a log. On a terminal: a summary of the distinct things found (--lines: each "
        "line with findings). Otherwise (a pipe, a file): each line with findings.",
    )
    p.add_argument("file", nargs="?", default="-", help="a log file; '-' or nothing reads standard input")
    p.add_argument(
        "--json",
        action="store_true",
        help="JSON: one object per line with findings (its findings and the lead of its answer); "
        "with --summary, one document",
    )
    p.add_argument("--answers", action="store_true", help="with each line's JSON object, its full answer")
    view = p.add_mutually_exclusive_group()
    view.add_argument(
        "--summary",
        dest="summary",
        action="store_const",
        const=True,
        default=None,
        help="the distinct endpoints, errors and diagnoses, each with its count, first and last line "
        "(the default on a terminal, without --json)",
    )
    view.add_argument(
        "--lines", dest="summary", action="store_const", const=False, help="each line with findings"
    )
    kb = sub.add_parser("kb", help="knowledge-base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", metavar="KB_COMMAND")
    kb_sub.add_parser("check", help="validate every knowledge file and report counts")
    sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    sub.add_parser(
        "playground",
        help="the real bot on a local stand-in for Discord, in your browser (see `playground --help`)",
        add_help=False,
    )
    sub.add_parser(
        "try", help="answer in the terminal: the demo query, then every line typed (no Discord needed)"
    )
    p = sub.add_parser("sync", help="publish the slash commands to Discord (after they change)")
    p.add_argument("--guild", type=int, default=None, help="sync to one server (instant) instead of globally")
    return parser


def _load() -> Knowledge:
    from bot.kb import load_knowledge

    return load_knowledge()


def cmd_explain(text: str, as_json: bool, out: TextIO) -> int:
    """Print the answer for one query."""
    from bot.core import explain
    from bot.terminal import render_explanation

    kb = _load()
    exp = explain(text, kb)
    if as_json:
        import json

        # JSON is UTF-8; to a terminal or pipe in another encoding it goes as ASCII with \u escapes.
        encoding = (getattr(out, "encoding", None) or "utf-8").lower().replace("_", "-")
        ascii_only = encoding not in ("utf-8", "utf8")
        out.write(json.dumps(exp.to_json(), ensure_ascii=ascii_only, indent=2) + "\n")
    else:
        out.write(render_explanation(exp, color=out.isatty()))
    return 0


_SURROGATE = "[\ud800-\udfff]"


def _as_text(text: str) -> str:
    """Text as typed: bytes that were not valid in the locale's encoding (which Python keeps as lone
    surrogates in arguments and standard input) become U+FFFD, so no output carries invalid UTF-8."""
    import re

    return re.sub(_SURROGATE, "\ufffd", text) if not text.isascii() else text


def _read_stdin() -> str:
    """All of standard input as text; undecodable bytes become U+FFFD (they are input, not our error)."""
    buffer = getattr(sys.stdin, "buffer", None)
    if buffer is None:
        return sys.stdin.read()  # a replaced sys.stdin (tests, embedding)
    text = buffer.read().decode(sys.stdin.encoding or "utf-8", "replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")  # universal newlines, as `sys.stdin` reads


class _Reading:
    """The text of a log in pieces, counting bytes and lines read (for the progress line and summary).

    A file in large reads; standard input as it arrives, so that `tail -f app.log | netexplain scan`
    answers each line when it is written. Both are decoded incrementally (universal newlines), so
    memory does not grow with the input.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.on_read: Callable[[], None] = lambda: None  # called after each piece is counted
        self.bytes = 0
        self.lines = 0
        self.ended_in_newline = True

    def __iter__(self) -> Iterator[str]:
        if self.source != "-":
            with open(self.source, "rb") as fh:
                yield from self._decoded(fh.read1, "utf-8", "replace")
            return
        stdin = sys.stdin
        buffer = getattr(stdin, "buffer", None)
        if buffer is None or not hasattr(buffer, "read1"):
            for text in stdin:  # a replaced sys.stdin (tests, embedding): line by line
                self._count(len(text.encode("utf-8", "replace")), text)
                yield text
            return
        # In `sys.stdin`'s encoding; a byte that is not valid in it is a character of the log like any
        # other (U+FFFD), not an error that ends the scan nor one that `--json` would print back raw.
        yield from self._decoded(buffer.read1, stdin.encoding or "utf-8", "replace")

    def _decoded(self, read1: Any, encoding: str, errors: str) -> Iterator[str]:
        import codecs
        import io

        decoder = io.IncrementalNewlineDecoder(codecs.getincrementaldecoder(encoding)(errors=errors), True)
        while data := read1(1 << 16):
            text = decoder.decode(data)
            self._count(len(data), text)
            yield text
        text = decoder.decode(b"", final=True)
        self._count(0, text)
        yield text

    def _count(self, size: int, text: str) -> None:
        self.bytes += size
        if text:
            self.lines += text.count("\n")
            self.ended_in_newline = text.endswith("\n")
        self.on_read()

    @property
    def lines_read(self) -> int:
        """Lines read so far, a last line without its newline included."""
        return self.lines + (not self.ended_in_newline)


class _Progress:
    """A progress line on a terminal's standard error: bytes, lines, findings, rate; nothing elsewhere."""

    def __init__(self, err: TextIO, reading: _Reading) -> None:
        self.err = err
        self.reading = reading
        self.enabled = err.isatty()
        self.findings = 0
        import time

        self._clock = time.monotonic
        self.started = self._clock()
        self._next = self.started + 0.5
        self.shown = False

    def found(self, findings: int) -> None:
        """Count a line's findings."""
        self.findings += findings

    def tick(self) -> None:
        """Redraw, at most twice a second (called after each piece read)."""
        if self.enabled and self._clock() >= self._next:
            self.show()

    def show(self) -> None:
        now = self._clock()
        self._next = now + 0.5
        rate = self.reading.bytes / max(now - self.started, 1e-9) / 1e6
        self.err.write(
            f"\r\x1b[Kscan: {self.reading.bytes / 1e6:,.1f} MB, {self.reading.lines:,} lines, "
            f"{self.findings:,} findings, {rate:,.1f} MB/s"
        )
        self.err.flush()
        self.shown = True

    def clear(self) -> None:
        """Clear the line, so that output written after it (to the same terminal) starts clean."""
        if self.shown:
            self.err.write("\r\x1b[K")
            self.err.flush()
            self.shown = False


LEAD_CACHE_SIZE = 4096  # lines: logs repeat whole lines ("connect ECONNREFUSED 127.0.0.1:5432")


def cmd_scan(
    source: str,
    as_json: bool,
    out: TextIO,
    *,
    answers: bool = False,
    summary: bool | None = None,
    err: TextIO | None = None,
) -> int:
    """Scan a log: per line (`summary=False`), or the distinct things found, grouped (`summary=True`;
    by default when `out` is a terminal, except for JSON). `answers` adds each line's full answer to
    its JSON object."""
    from bot.core import explanation, scan
    from bot.core.scan import FindingCache, ScanSummary
    from bot.terminal import render_scan_line

    if summary is None:  # JSON is per line unless asked otherwise, terminal or not
        summary = out.isatty() and not as_json
    kb = _load()
    reading = _Reading(source)
    progress = _Progress(sys.stderr if err is None else err, reading)
    reading.on_read = progress.tick
    streaming = source == "-" and not summary  # each answer as soon as its line arrives, even through a pipe
    cache = FindingCache()
    leads: dict[str, tuple[bool, str, str]] = {}  # line -> (triggered, title, summary), bounded
    grouped = ScanSummary() if summary else None
    try:
        for hit in scan(reading, kb, cache):
            progress.found(len(hit.findings))
            if progress.shown and not summary:
                progress.clear()
            if not as_json and not summary:
                out.write(render_scan_line(hit.number, hit.findings) + "\n")
                if streaming:
                    out.flush()
                continue
            full = explanation(hit.line, hit.findings, kb) if answers else None
            lead = leads.get(hit.line)
            if lead is None:
                exp = full or explanation(hit.line, hit.findings, kb, brief=True)
                lead = (exp.triggered, exp.answer.title, exp.answer.summary)
                if len(leads) >= LEAD_CACHE_SIZE:
                    leads.clear()
                leads[hit.line] = lead
            if grouped is not None:
                grouped.add(hit, lead[1:])
                continue
            out.write(_scan_json_line(hit, lead, full) + "\n")
            if streaming:
                out.flush()
    finally:
        progress.clear()
    if grouped is not None:
        _write_summary(grouped, reading, kb, out, as_json=as_json)
    return 0


def _scan_json_line(hit: ScanHit, lead: tuple[bool, str, str], full: Explanation | None) -> str:
    """One line's JSON object: its number, text, findings and the lead of its answer (`--answers`: all)."""
    import json

    from bot.core.model import redact_credentials

    obj: dict[str, Any] = {
        "line": hit.number,
        "query": redact_credentials(hit.line),
        "triggered": lead[0],
        "findings": [f.to_json() for f in hit.findings],
        "lead": {"title": lead[1], "summary": lead[2]},
    }
    if hit.cut:  # as in `explain --json`: how many characters of the line were read
        obj["read"] = len(hit.line)
    if full is not None:
        obj["answer"] = full.answer.to_json()
    return json.dumps(obj, ensure_ascii=False)


SUMMARY_SHOWN = 10  # groups of each kind shown on a terminal (JSON has them all)
_SECTION_NAMES = {"diagnosis": "Diagnoses", "error": "Errors", "endpoint": "Endpoints", "term": "Terms"}


def _group_lead(group: ScanGroup, kb: Knowledge) -> tuple[str, str]:
    """One explanation of a group: a diagnosis's lead, or the answer for its thing on its own."""
    if group.lead is not None:
        return group.lead
    from bot.core import explanation

    assert group.sample is not None
    f = group.sample._replace(span=(0, len(group.sample.text)))
    answer = explanation(f.text, [f], kb, brief=True).answer
    return answer.title, answer.summary


def _write_summary(
    grouped: ScanSummary, reading: _Reading, kb: Knowledge, out: TextIO, *, as_json: bool
) -> None:
    """The distinct things found, by kind, the most frequent first."""
    from bot.core.model import redact_credentials
    from bot.core.scan import GROUP_KINDS

    if as_json:
        import json

        # One document, written a group at a time (each group's explanation is made as it is written).
        head = {
            "lines": reading.lines_read,
            "bytes": reading.bytes,
            "lines_with_findings": grouped.lines_with_findings,
            "findings": grouped.findings,
        }
        for kind in GROUP_KINDS:
            if grouped.overflow[kind]:
                head[f"{kind}_lines_not_grouped"] = grouped.overflow[kind]
        out.write(json.dumps(head, ensure_ascii=False, indent=2)[:-2])
        for kind in GROUP_KINDS:
            out.write(f',\n  "{"diagnoses" if kind == "diagnosis" else kind + "s"}": [')
            for n, g in enumerate(grouped.ranked(kind)):
                title, summary = _group_lead(g, kb)
                item: dict[str, Any] = {"count": g.count, "first_line": g.first, "last_line": g.last}
                if g.sample is not None:
                    item["text"] = redact_credentials(g.sample.text)
                    item["finding"] = g.sample.to_json()
                    del item["finding"]["span"]
                item["title"] = title
                item["summary"] = summary
                out.write(("," if n else "") + "\n    " + json.dumps(item, ensure_ascii=False))
            out.write("\n  ]")
        out.write("\n}\n")
        return
    out.write(
        f"{reading.lines_read:,} lines read, {grouped.lines_with_findings:,} with findings "
        f"({grouped.findings:,} findings)\n"
    )
    for kind in GROUP_KINDS:
        ranked = grouped.ranked(kind)
        if not ranked:
            continue
        more = len(ranked) - SUMMARY_SHOWN
        shown = f"; the {SUMMARY_SHOWN} most frequent" if more > 0 else ""
        out.write(f"\n{_SECTION_NAMES[kind]} ({len(ranked):,} distinct{shown})\n")
        for g in ranked[:SUMMARY_SHOWN]:
            title, summary = _group_lead(g, kb)
            where = f"line {g.first:,}" if g.count == 1 else f"lines {g.first:,}–{g.last:,}"
            out.write(f"  {g.count:>7,}×  {title}  ({where})\n{'':12}{_first_sentence(summary)}\n")
        if more > 0:
            out.write(f"  ... and {more:,} more (--json lists them all)\n")
        if grouped.overflow[kind]:
            out.write(f"  ({grouped.overflow[kind]:,} lines held further distinct ones, not grouped)\n")


def _first_sentence(text: str, limit: int = 160) -> str:
    end = text.find(". ")
    first = text if end < 0 else text[: end + 1]
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def cmd_kb_check(out: TextIO) -> int:
    """Validate the knowledge base and report counts."""
    from bot.kb import check_knowledge

    report = check_knowledge()
    out.write(f"knowledge base OK: {report.root}\n")
    for name, count in report.counts.items():
        out.write(f"  {name}: {count}\n")
    return 0


def cmd_terminal_session(out: TextIO) -> int:
    """Without a Discord token: explain the demo query, then every line typed on standard input."""
    out.write(f"Answering here, without Discord (set DISCORD_TOKEN for the bot). Example: {DEMO_QUERY}\n\n")
    cmd_explain(DEMO_QUERY, False, out)
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            out.write("\nnetexplain> ")
            out.flush()
        line = sys.stdin.readline()
        if not line:
            return 0
        if line.strip():
            out.write("\n")
            cmd_explain(line.strip(), False, out)


def cmd_run() -> int:
    """Run the bot; a missing token is a configuration error (one sentence, non-zero exit)."""
    from bot.config import load_config
    from bot.runner import run_bot

    return run_bot(load_config())


def cmd_playground(argv: Sequence[str]) -> int:
    """The playground: a loopback Discord, the real bot connected to it, and a page on 127.0.0.1."""
    from bot.playground.app import main as playground_main

    return playground_main(list(argv), prog="netexplain playground")


def cmd_sync(guild: int | None) -> int:
    """Publish the slash commands."""
    from bot.config import load_config
    from bot.runner import sync_commands

    return sync_commands(load_config(), guild)


def _plain_explain(argv: Sequence[str]) -> SimpleNamespace | None:
    """`explain [--json] TEXT... [--json]` without argparse; None for anything else (help, options,
    other commands), which argparse then parses. Accepts exactly what argparse would parse the same way."""
    if not argv or argv[0] != "explain":
        return None
    words = list(argv[1:])
    as_json = False
    while words and words[0] == "--json":
        as_json = True
        words.pop(0)
    while words and words[-1] == "--json":
        as_json = True
        words.pop()
    if not words or any(w.startswith("-") and w != "-" for w in words):
        return None
    return SimpleNamespace(command="explain", text=words, json=as_json)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `netexplain` command."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "playground":  # its own options and --help, parsed by the playground
        return _dispatch(SimpleNamespace(command="playground", args=argv[1:]))
    args: Any = _plain_explain(argv)
    if args is None:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command is None or (args.command == "kb" and args.kb_command is None):
            parser.print_help()
            return 0 if args.command is None else 2
    return _dispatch(args)


def _dispatch(args: Any) -> int:
    out = sys.stdout
    if isinstance(out, io.TextIOWrapper):
        out.reconfigure(errors="replace")  # a character the terminal's encoding lacks prints as "?"
    try:
        if args.command == "explain":
            text = _read_stdin() if args.text == ["-"] else " ".join(args.text)
            return cmd_explain(_as_text(text), args.json, out)
        if args.command == "scan":
            if args.answers and args.summary:
                print("netexplain: --answers goes with per-line output, not --summary", file=sys.stderr)
                return 2
            return cmd_scan(
                args.file, args.json or args.answers, out, answers=args.answers, summary=args.summary
            )
        if args.command == "kb" and args.kb_command == "check":
            return cmd_kb_check(out)
        if args.command == "run":
            return cmd_run()
        if args.command == "try":
            return cmd_terminal_session(out)
        if args.command == "playground":
            return cmd_playground(args.args)
        if args.command == "sync":
            return cmd_sync(args.guild)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except OSError as exc:
        print(f"netexplain: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 1
    except Exception as exc:
        from bot.kb import KnowledgeError

        if isinstance(exc, KnowledgeError):
            print(f"netexplain: knowledge base error: {exc}", file=sys.stderr)
            return 2
        config_error = _config_error_type()
        if config_error is not None and isinstance(exc, config_error):
            print(f"netexplain: {exc}", file=sys.stderr)
            return 2
        import logging

        logging.getLogger("netexplain").error("unexpected error in %r", args.command, exc_info=_debug())
        print(
            f"netexplain: sorry, something went wrong on our side ({type(exc).__name__}: {exc}). "
            "Set NETEXPLAIN_DEBUG=1 for the details, and please report it.",
            file=sys.stderr,
        )
        return 70
    return 2  # every command argparse accepts is handled above


def _debug() -> bool:
    return os.environ.get("NETEXPLAIN_DEBUG", "") not in ("", "0")


def _config_error_type() -> type[Exception] | None:
    try:
        from bot.config import ConfigError
    except ImportError:
        return None
    return ConfigError


if __name__ == "__main__":
    sys.exit(main())
