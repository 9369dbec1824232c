"""Every `netexplain` command the README and docs/ show runs and exits 0, so the docs cannot drift.

What counts as an example command, in README.md and docs/*.md:

- a line of a code block (fenced, or indented by four spaces) that runs `netexplain`: starting with
  `netexplain ` (or `$ netexplain `), or piping into it (`echo '...' | netexplain explain -`);
- an inline code span holding `netexplain`, a subcommand and at least one argument
  (`netexplain kb check`); a span naming only the command (`netexplain scan`) is prose, not an example.

Each runs as written, through bash, in a temporary directory holding the files the examples name
(FILES below), with the installed `netexplain` entry point first on PATH (or `python -m bot.cli` when
the project is not installed). Not run, by rule, and reported as skipped with the reason:
the subcommands in NOT_RUN, which need Discord and a bot token or run until stopped.

The pages' relative links (files and heading anchors) must resolve too.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

NOT_RUN = {
    "run": "needs Discord and a bot token",
    "sync": "needs Discord and a bot token",
    "playground": "a long-running server (its tests are in tests/playground/)",
    "try": "an interactive session that runs until end of input",
}

# Files the examples name, created in the directory they run in.
FILES = {
    "server.log": (
        "2026-11-28 10:00:01 starting worker\n"
        "2026-11-28 10:00:02 Error: connect ECONNREFUSED 127.0.0.1:5432\n"
        "2026-11-28 10:00:03 listening on http://0.0.0.0:8000\n"
    ),
}

_FENCE = re.compile(r"^\s*```")
_RUNS_NETEXPLAIN = re.compile(r"^(?:\$ )?netexplain |\|\s*netexplain ")
_INLINE = re.compile(r"`(netexplain [^`]+)`")


def example_commands(page: Path) -> list[str]:
    """The example commands on one page, in order, each once."""
    found: list[str] = []
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence or line.startswith("    "):
            command = line.strip().removeprefix("$ ")
            if _RUNS_NETEXPLAIN.search(command):
                found.append(command)
                continue
        for span in _INLINE.findall(line):
            if len(shlex.split(span, comments=True)) >= 3:
                found.append(span)
    return list(dict.fromkeys(found))


def subcommand(command: str) -> str:
    """The netexplain subcommand a shell line runs (`explain` in `echo x | netexplain explain -`)."""
    words = shlex.split(command, comments=True)
    return words[words.index("netexplain") + 1]


def _cases() -> list[object]:
    cases: list[object] = []
    seen: set[str] = set()
    for page in PAGES:
        for command in example_commands(page):
            if command in seen:
                continue  # shown on an earlier page too: run once
            seen.add(command)
            reason = NOT_RUN.get(subcommand(command))
            marks = (
                [pytest.mark.skip(reason=f"`netexplain {subcommand(command)}`: {reason}")] if reason else []
            )
            cases.append(pytest.param(command, id=f"{page.name}: {command}", marks=marks))
    return cases


def _shell_prefix() -> str:
    """Make `netexplain` mean this checkout's installed entry point, or `python -m bot.cli`."""
    entry_point = Path(sys.executable).parent / "netexplain"
    if entry_point.exists():
        return f'PATH={shlex.quote(str(entry_point.parent))}:"$PATH"\n'
    return f'netexplain() {{ {shlex.quote(sys.executable)} -m bot.cli "$@"; }}\n'


@pytest.mark.parametrize("command", _cases())
def test_example_command_exits_0(command: str, tmp_path: Path) -> None:
    for name, text in FILES.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DISCORD_TOKEN", None)
    done = subprocess.run(
        ["bash", "-c", _shell_prefix() + command],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command!r} exited {done.returncode}: {done.stderr.strip()[-500:]}"
    assert done.stdout.strip(), f"{command!r} printed nothing"


def test_the_docs_show_commands_to_run_and_to_skip() -> None:
    """The collection itself works: the README's own examples are found, and the skip rule is used."""
    readme = example_commands(REPO / "README.md")
    assert "netexplain explain 127.0.0.1:62893             # an answer for a person" in readme
    assert "echo 'listen EADDRINUSE :::3000' | netexplain explain -" in readme
    assert {subcommand(c) for c in readme} >= {"explain", "scan", "kb", "run", "playground", "try", "sync"}
    assert "netexplain scan" not in example_commands(
        REPO / "docs" / "performance.md"
    )  # prose, not an example


def test_example_commands_are_all_netexplain_subcommands() -> None:
    """A typo in a skipped command is caught too: every subcommand shown exists."""
    usage = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout
    shown = {subcommand(c) for page in PAGES for c in example_commands(page)}
    assert shown <= set(re.findall(r"^    (\w+)", usage, re.MULTILINE)), shown


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", [*PAGES, REPO / "knowledge" / "README.md"], ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for link in re.findall(r"\]\(([^)\s]+)\)", page.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", link):
            continue  # https:, mailto:
        path, _, anchor = link.partition("#")
        target = (page.parent / path) if path else page
        if not target.exists() or (anchor and target.suffix == ".md" and anchor not in _anchors(target)):
            broken.append(link)
    assert not broken, f"{page.name}: broken links {broken}"
