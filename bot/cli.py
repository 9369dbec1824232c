"""The `netexplain` command line: explain text, scan a log, check the knowledge base, run the bot.

Imports stay lazy: `netexplain explain` must start in tens of milliseconds, so nothing here pulls in
discord.py or aiohttp unless the command needs them, and the plain `explain TEXT` form is recognised
without building the argparse parser (argparse and what it imports cost more than the answer itself).
A subcommand is a `sub.add_parser` in `_parser`, a `cmd_*` function that imports its module, and a
branch in `_dispatch`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    import argparse

    from bot.core.knowledge import Knowledge

DEMO_QUERY = "127.0.0.1:62893"
HELP_EPILOG = """\
examples:
  netexplain explain 127.0.0.1:62893
  netexplain explain --json 'connect ECONNREFUSED ::1:5432'
  echo 'listen EADDRINUSE :::3000' | netexplain explain -
  netexplain scan server.log          (only the lines with findings)
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
    p = sub.add_parser("scan", help="explain each line of FILE (or standard input) that has findings")
    p.add_argument("file", nargs="?", default="-", help="a log file; '-' or nothing reads standard input")
    p.add_argument("--json", action="store_true", help="print one JSON object per line with findings")
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

        out.write(json.dumps(exp.to_json(), ensure_ascii=False, indent=2) + "\n")
    else:
        out.write(render_explanation(exp, color=out.isatty()))
    return 0


def _chunks(source: str) -> Iterator[str]:
    """The text of a log in pieces: a file in large reads; standard input as it arrives, so that
    `tail -f app.log | netexplain scan` answers each line when it is written."""
    if source != "-":
        with open(source, encoding="utf-8", errors="replace") as fh:
            yield from iter(lambda: fh.read(1 << 16), "")
        return
    import codecs
    import io

    stdin = sys.stdin
    buffer = getattr(stdin, "buffer", None)
    if buffer is None or not hasattr(buffer, "read1"):
        yield from stdin  # a replaced sys.stdin (tests, embedding): line by line
        return
    # Decoded as `sys.stdin` decodes (its encoding, its error handler, universal newlines).
    decoder = io.IncrementalNewlineDecoder(
        codecs.getincrementaldecoder(stdin.encoding or "utf-8")(errors=stdin.errors or "strict"), True
    )
    while data := buffer.read1(1 << 16):
        yield decoder.decode(data)
    yield decoder.decode(b"", final=True)


def cmd_scan(source: str, as_json: bool, out: TextIO) -> int:
    """Print only the lines of a log that have findings."""
    from bot.core import explanation, scan
    from bot.terminal import render_scan_line

    kb = _load()
    streaming = source == "-"  # each answer as soon as its line arrives, even through a pipe
    for hit in scan(_chunks(source), kb):
        if as_json:
            import json

            obj = explanation(hit.line, hit.findings, kb).to_json()
            obj["line"] = hit.number
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        else:
            out.write(render_scan_line(hit.number, hit.findings) + "\n")
        if streaming:
            out.flush()
    return 0


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
    try:
        if args.command == "explain":
            text = sys.stdin.read() if args.text == ["-"] else " ".join(args.text)
            return cmd_explain(text, args.json, out)
        if args.command == "scan":
            return cmd_scan(args.file, args.json, out)
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
