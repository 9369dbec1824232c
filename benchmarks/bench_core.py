"""Benchmarks of the core (not tests): the passive scan and the command line's start-up.

- scan: `netexplain scan`'s per-line work on a chat-like log (95% ordinary chatter, 5% messages with
  findings), against a bare loop that reads each line and tests `':' in line`, in the same run.
  Target: at most 15x the bare loop per line.
- start-up: `netexplain explain 127.0.0.1:62893` as a fresh process through the installed console
  script, against `python -c pass`, alternating. Target: at most 6x.

Run with `make bench` (or `python benchmarks/bench_core.py`). Prints one line per figure.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli import cmd_scan  # noqa: E402
from bot.kb import load_knowledge  # noqa: E402

CHATTER = [
    "lol yeah that's what I thought",
    "did you try turning it off and on again?",
    "I'll push the fix tomorrow morning",
    "anyone up for games tonight",
    "thanks, that worked!",
    "the build is green again",
    "can someone review my PR when they have a minute",
    "haha no way",
    "I think the docs are wrong about that",
    "brb grabbing coffee",
    "we should ship this before the weekend",
    "good morning everyone",
    "that's a really nice approach, I like it",
    "it compiles on my machine but not in CI",
    "ok, merging now",
    "which editor do you use",
    "the meeting moved to 3pm",
    "my cat just walked over the keyboard",
    "version 2 is so much faster",
    "I read the whole thread and still don't get it",
]
# Messages with findings. The numbers in them are drawn afresh for every line, so that no line (and
# hardly any port) repeats: a cache of answers by line or by value gains nothing over this log.
FINDINGS = [
    "Error: connect ECONNREFUSED 127.0.0.1:{port}",
    "listen EADDRINUSE: address already in use :::{port}",
    "DevTools listening on ws://127.0.0.1:{port}/devtools/browser/{hex}",
    "my server is at http://localhost:{port} but it won't load",
    "what is an ephemeral port?",
    "curl: (7) Failed to connect to localhost port {port}: Connection refused",
    "is 10.{octet}.0.0/{plen} private?",
    "OSError: [WinError 10048] Only one usage of each socket address",
]


def finding_line(rng: random.Random) -> str:
    """One message with findings, its numbers drawn from `rng`."""
    return rng.choice(FINDINGS).format(
        port=rng.randint(1024, 65535),
        hex=f"{rng.getrandbits(64):016x}",
        octet=rng.randint(0, 255),
        plen=rng.randint(8, 24),
    )


def chat_log(lines: int, seed: int = 7, findings: float = 0.05) -> str:
    """A reproducible chat-like log: by default 95% chatter, 5% messages with findings."""
    rng = random.Random(seed)
    out = []
    for _ in range(lines):
        out.append(finding_line(rng) if rng.random() < findings else rng.choice(CHATTER))
    return "\n".join(out) + "\n"


def _bare_loop(path: Path) -> float:
    start = time.perf_counter()
    hits = 0
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if ":" in line:
                hits += 1
    return time.perf_counter() - start


def _scan(path: Path) -> float:
    sink = io.StringIO()
    start = time.perf_counter()
    cmd_scan(str(path), False, sink)
    return time.perf_counter() - start


def bench_scan(lines: int = 200_000, repeats: int = 5) -> float:
    """Per-line cost of the scan relative to the bare loop (median of `repeats`, alternating)."""
    load_knowledge()  # warm: the cache is built once, as in normal use
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "chat.log"
        path.write_text(chat_log(lines), encoding="utf-8")
        bares, scans = [], []
        for _ in range(repeats):
            bares.append(_bare_loop(path))
            scans.append(_scan(path))
    bare, scan = statistics.median(bares), statistics.median(scans)
    ratio = scan / bare
    print(
        f"scan: {scan / lines * 1e9:.0f} ns/line vs bare loop {bare / lines * 1e9:.0f} ns/line "
        f"= {ratio:.1f}x (target <= 15x), {lines:,} lines"
    )
    # Where the time goes: a log of chatter only, and one of findings only.
    with tempfile.TemporaryDirectory() as tmp:
        parts = {}
        for name, share, count in (("chatter only", 0.0, lines), ("findings only", 1.0, lines // 20)):
            path = Path(tmp) / f"{share}.log"
            path.write_text(chat_log(count, findings=share), encoding="utf-8")
            parts[name] = statistics.median(_scan(path) for _ in range(repeats)) / count
    print(
        f"  chatter only: {parts['chatter only'] * 1e9:.0f} ns/line; "
        f"findings only: {parts['findings only'] * 1e6:.1f} us/line"
    )
    return ratio


def _console_script() -> str:
    """The installed `netexplain` console script, as a user runs it (not `python -m bot.cli`)."""
    beside = Path(sys.executable).parent / "netexplain"
    found = str(beside) if beside.exists() else shutil.which("netexplain")
    if not found:
        raise SystemExit("bench_core: the `netexplain` command is not installed (run `make bench`)")
    return found


def _startup_ratio(cli: list[str], base: list[str], env: dict[str, str], repeats: int) -> tuple[float, float]:
    subprocess.run(cli, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)  # cache, bytecode
    times: dict[str, list[float]] = {"base": [], "cli": []}
    for _ in range(repeats):
        for name, args in (("base", base), ("cli", cli)):
            start = time.perf_counter()
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, cwd=ROOT, env=env)
            times[name].append(time.perf_counter() - start)
    return statistics.median(times["base"]), statistics.median(times["cli"])


def bench_startup(repeats: int = 21) -> float:
    """Fresh-process time of `netexplain explain 127.0.0.1:62893` relative to `python -c pass`.

    The two commands alternate, so that a burst of load on a shared machine hits both alike. Python
    runs as it does on a user's machine, reading the bytecode it wrote on the first run (a wheel install
    ships it compiled): `PYTHONDONTWRITEBYTECODE`, which some sandboxes set, is dropped for the target
    figure, and the figure with it (every start compiles the project's modules) is printed too.
    """
    cli = [_console_script(), "explain", "127.0.0.1:62893"]
    base = [sys.executable, "-c", "pass"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base_s, cli_s = _startup_ratio(cli, base, env, repeats)
    ratio = cli_s / base_s
    print(
        f"start-up: netexplain explain 127.0.0.1:62893 {cli_s * 1000:.1f} ms vs python -c pass "
        f"{base_s * 1000:.1f} ms = {ratio:.1f}x (target <= 6x), median of {repeats}"
    )
    nobc_base, nobc_cli = _startup_ratio(cli, base, {**env, "PYTHONDONTWRITEBYTECODE": "1"}, repeats)
    print(
        f"  without bytecode files (PYTHONDONTWRITEBYTECODE=1): {nobc_cli * 1000:.1f} ms vs "
        f"{nobc_base * 1000:.1f} ms = {nobc_cli / nobc_base:.1f}x"
    )
    return ratio


if __name__ == "__main__":
    bench_scan()
    bench_startup()
