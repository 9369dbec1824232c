"""Benchmark (not a test): `netexplain scan --json` against the Python extractors people run on logs.

The peers, both dev dependencies:
- `iocextract` (InQuest): extracts IPs and URLs (and e-mails, hashes, YARA rules); classifies nothing.
- `ioc-finder` (fhightower): finds and parses indicators of compromise, ports and networks among them.

Each side reads the same generated log of 30,000 lines as a fresh process and writes what it found to a
file: `netexplain scan --json LOG`; a loop calling iocextract's `extract_ips` and `extract_urls` on
each line; a loop calling ioc-finder's `find_iocs` on each line, printed as JSON (see `_IOCEXTRACT`
for why line by line). The three alternate, so that a burst of load on a shared machine hits all of
them; medians of wall time and of CPU time (user + system, from `wait4`) are compared: on a shared
machine the CPU time is the steadier figure.

The log (fixed seed): half log lines with fresh random addresses and ports (access logs, socket errors,
`docker ps`, dev-server banners, curl), half chatter. Fresh numbers on every line keep netexplain's
per-run classification cache honest: it only gains from what real logs repeat (status lines, error
symbols, the odd port).

Targets: at least 2x faster than iocextract and 5x faster than ioc-finder.
With `--stream-mb 1024`, it then pipes a generated 1 GB stream (1% of lines with findings) into
`netexplain scan -` and prints its rate and peak memory, against a tenth of that stream: streaming in
constant memory (`--lines 0` runs only that).

Run: `python benchmarks/bench_peers.py [--lines N] [--repeats N] [--write-log PATH] [--stream-mb MB]`.
"""

from __future__ import annotations

import argparse
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
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import CHATTER as CORE_CHATTER  # noqa: E402

# bench_core's chatter, and log lines that hold no finding either.
CHATTER = [
    *CORE_CHATTER,
    "INFO worker started, waiting for jobs",
    "DEBUG cache warmed in 12 ms",
    "WARN retrying job after backoff",
]
METHODS = ["GET", "GET", "GET", "POST", "PUT", "DELETE"]
PATHS = ["/", "/api/users", "/api/orders/42", "/login", "/static/app.js", "/healthz", "/favicon.ico"]
AGENTS = ["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "python-requests/2.31.0", "Go-http-client/1.1"]
IMAGES = ["nginx:1.25", "postgres:16", "redis:7", "node:20-alpine", "grafana/grafana:10.2.0"]
ERRORS = [
    "Error: connect ECONNREFUSED {ip}:{port}",
    "Error: listen EADDRINUSE: address already in use :::{port}",
    "dial tcp {ip}:{port}: connect: connection refused",
    "OSError: [Errno 98] Address already in use: ('{ip}', {port})",
    'psql: error: connection to server at "{ip}", port {port} failed: Connection refused',
    "ConnectionRefusedError: [WinError 10061] No connection could be made to {ip}:{port}",
    "Error: connect ETIMEDOUT {ip}:{port}",
]
BANNERS = [
    "  ➜  Local:   http://localhost:{port}/",
    "  ➜  Network: http://{ip}:{port}/",
    "INFO:     Uvicorn running on http://{ip}:{port} (Press CTRL+C to quit)",
    " * Running on http://{ip}:{port}",
    "Server listening on port {port}",
]
CURLS = [
    "curl: (7) Failed to connect to {ip} port {port} after 0 ms: Connection refused",
    "* Connected to {ip} ({ip}) port {port} (#0)",
    "curl: (28) Connection timed out after 5001 milliseconds connecting to {ip}:{port}",
]


def _ip(rng: random.Random) -> str:
    first = rng.choice([10, 127, 172, 192, rng.randint(1, 223)])
    return f"{first}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"


def log_line(rng: random.Random) -> str:
    """One log line with a fresh random address and port."""
    ip, port = _ip(rng), rng.randint(1, 65535)
    kind = rng.randrange(5)
    if kind == 0:  # access log (nginx combined)
        return (
            f"{ip} - - [07/Dec/2026:03:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0000] "
            f'"{rng.choice(METHODS)} {rng.choice(PATHS)} HTTP/1.1" {rng.choice([200, 200, 304, 404, 502])} '
            f'{rng.randint(0, 99999)} "-" "{rng.choice(AGENTS)}"'
        )
    if kind == 1:
        return rng.choice(ERRORS).format(ip=ip, port=port)
    if kind == 2:  # a row of `docker ps`
        inner = rng.randint(1, 9999)
        return (
            f'{rng.getrandbits(48):012x}   {rng.choice(IMAGES)}   "docker-entrypoint.s…"   '
            f"{rng.randint(2, 59)} minutes ago   Up {rng.randint(2, 59)} minutes   "
            f"0.0.0.0:{port}->{inner}/tcp, :::{port}->{inner}/tcp   app_{rng.randint(1, 99)}"
        )
    if kind == 3:
        return rng.choice(BANNERS).format(ip=ip, port=port)
    return rng.choice(CURLS).format(ip=ip, port=port)


def generate_log(lines: int = 30_000, seed: int = 14) -> str:
    """The benchmark's log: half log lines with fresh addresses and ports, half chatter, fixed seed."""
    rng = random.Random(seed)
    return "".join(
        (log_line(rng) if rng.random() < 0.5 else rng.choice(CHATTER)) + "\n" for _ in range(lines)
    )


def _command(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise SystemExit(f"bench_peers: `{name}` is not installed (pip install -e '.[dev]')")
    return found


# Each peer reads the log line by line and prints what it found, as `scan --json` does. Line by line is
# the fast way to run them: on the whole text at once iocextract's command line takes time that grows
# faster than the text (45 s of CPU for the first 3,000 lines of this log), and ioc-finder gains nothing.
_IOCEXTRACT = """\
import sys, iocextract
out = sys.stdout
for line in open(sys.argv[1], encoding="utf-8"):
    for found in iocextract.extract_ips(line):
        out.write(found + "\\n")
    for found in iocextract.extract_urls(line):
        out.write(found + "\\n")
"""
_IOC_FINDER = """\
import json, sys
from ioc_finder import find_iocs
out = sys.stdout
for number, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    found = {kind: values for kind, values in find_iocs(line).items() if values}
    if found:
        out.write(json.dumps({"line": number, **found}) + "\\n")
"""


def commands(log: Path) -> dict[str, list[str]]:
    """Each side's command line on `log`."""
    return {
        "netexplain": [_command("netexplain"), "scan", "--json", str(log)],
        "iocextract": [sys.executable, "-c", _IOCEXTRACT, str(log)],
        "ioc-finder": [sys.executable, "-c", _IOC_FINDER, str(log)],
    }


def _run(args: list[str]) -> tuple[float, float, int, float]:
    """Wall seconds, CPU seconds (user + system), output lines and peak RSS (MiB) of one run."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen(args, stdout=sink, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            raise SystemExit(f"bench_peers: {args[0]} exited with {proc.returncode}")
        sink.seek(0)
        lines = sum(block.count(b"\n") for block in iter(lambda: sink.read(1 << 20), b""))
    return wall, usage.ru_utime + usage.ru_stime, lines, usage.ru_maxrss / 1024


def phases(text: str) -> None:
    """Where `scan --json`'s time goes, in this process (CPU time, best of 3): finding and classifying
    (`scan`), then each line's lead (`explanation(..., brief=True)`), then writing JSON (`cmd_scan`)."""
    import io

    sys.path.insert(0, str(ROOT))
    from bot.cli import cmd_scan
    from bot.core import explanation, scan
    from bot.kb import load_knowledge

    kb = load_knowledge()
    path = Path(tempfile.mkdtemp()) / "phases.log"
    path.write_text(text, encoding="utf-8")

    def find_only() -> None:
        for _ in scan([text], kb):
            pass

    def with_leads() -> None:
        for hit in scan([text], kb):
            explanation(hit.line, hit.findings, kb, brief=True)

    def whole() -> None:
        cmd_scan(str(path), True, io.StringIO(), summary=False)

    figures = []
    for step in (find_only, with_leads, whole):
        best = float("inf")
        for _ in range(3):
            start = time.process_time()
            step()
            best = min(best, time.process_time() - start)
        figures.append(best)
    path.unlink()
    print(
        f"in-process CPU: find and classify {figures[0]:.2f} s, + the leads {figures[1] - figures[0]:.2f} s, "
        f"+ JSON and the rest {figures[2] - figures[1]:.2f} s = {figures[2]:.2f} s"
    )


def bench_stream(megabytes: int, findings: float = 0.01) -> None:
    """Pipe a generated stream of `megabytes` MB into `netexplain scan -` (per-line output, discarded):
    its throughput and peak RSS, against the same for a tenth of the stream (memory must stay flat)."""
    rng = random.Random(16)
    blocks = []
    for _ in range(32):  # 32 different blocks of about 1 MB, cycled
        lines, size = [], 0
        while size < 1 << 20:
            lines.append((log_line(rng) if rng.random() < findings else rng.choice(CHATTER)) + "\n")
            size += len(lines[-1])
        blocks.append("".join(lines).encode())
    for size in (max(megabytes // 10, 1), megabytes):
        proc = subprocess.Popen(
            [_command("netexplain"), "scan", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, cwd=ROOT
        )
        assert proc.stdin is not None
        start, sent = time.perf_counter(), 0
        for i in range(size):
            proc.stdin.write(blocks[i % len(blocks)])
            sent += len(blocks[i % len(blocks)])
        proc.stdin.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        print(
            f"stream into scan -: {sent / 1e6:,.0f} MB ({findings:.0%} of lines with findings) "
            f"in {wall:.1f} s wall, {usage.ru_utime + usage.ru_stime:.1f} s CPU, "
            f"{sent / 1e6 / wall:.1f} MB/s; peak RSS {usage.ru_maxrss / 1024:.1f} MiB"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=30_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--write-log", type=Path, help="also write the generated log here")
    ap.add_argument("--stream-mb", type=int, default=0, help="then pipe a stream of this many MB into scan -")
    opts = ap.parse_args()
    if opts.lines == 0:
        bench_stream(opts.stream_mb)
        return
    text = generate_log(opts.lines)
    if opts.write_log:
        opts.write_log.write_text(text, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "peers.log"
        log.write_text(text, encoding="utf-8")
        sides = commands(log)
        for args in sides.values():
            _run(args)  # warm: netexplain's knowledge cache, bytecode, the page cache
        runs: dict[str, list[tuple[float, float, int, float]]] = {name: [] for name in sides}
        for _ in range(opts.repeats):
            for name, args in sides.items():
                runs[name].append(_run(args))
    print(
        f"log: {opts.lines:,} lines, {len(text.encode()):,} bytes (seed 14); {opts.repeats} runs each, "
        f"alternating; medians; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    wall = {name: statistics.median(r[0] for r in rs) for name, rs in runs.items()}
    cpu = {name: statistics.median(r[1] for r in rs) for name, rs in runs.items()}
    for name, rs in runs.items():
        print(
            f"  {name + ':':<12} wall {wall[name]:7.2f} s   CPU {cpu[name]:7.2f} s   "
            f"peak RSS {max(r[3] for r in rs):6.1f} MiB   {rs[0][2]:,} output lines"
        )
    for peer, target in (("iocextract", 2.0), ("ioc-finder", 5.0)):
        by_wall, by_cpu = wall[peer] / wall["netexplain"], cpu[peer] / cpu["netexplain"]
        verdict = "met" if min(by_wall, by_cpu) >= target else "NOT met"
        print(
            f"scan --json vs {peer}: {by_wall:.2f}x faster by wall time, "
            f"{by_cpu:.2f}x by CPU time "
            f"(target >= {target:g}x: {verdict})"
        )
    phases(text)
    if opts.stream_mb:
        bench_stream(opts.stream_mb)


if __name__ == "__main__":
    main()
