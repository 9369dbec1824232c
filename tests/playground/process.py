"""`python -m bot.playground` as a user starts it: a child process, its output read line by line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
URL_PREFIX = "netexplain playground: http"


class PlaygroundProcess:
    """The playground in a child process (which starts the bot as its own child)."""

    def __init__(self, *args: str, entry: tuple[str, ...] = ("-m", "bot.playground")) -> None:
        self.args = args
        self.entry = entry  # how it is started: `python -m bot.playground` or `netexplain playground`
        self.lines: list[str] = []
        self.errors: list[str] = []
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 60.0) -> str:
        """Start it and return the URL it prints."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NETEXPLAIN_", "DISCORD_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [sys.executable, *self.entry, *self.args],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for stream, sink in ((self.proc.stdout, self.lines), (self.proc.stderr, self.errors)):
            threading.Thread(target=_pump, args=(stream, sink), daemon=True).start()
        line = self.wait_for_line(URL_PREFIX, timeout)
        self.url = line.split(": ", 1)[1].strip()
        return self.url

    def wait_for_line(self, needle: str, timeout: float) -> str:
        """The first stdout line containing `needle`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if needle in line:
                    return line
            if self.proc is not None and self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no {needle!r} from the playground:\n{self.output}")

    @property
    def output(self) -> str:
        """Everything printed so far, stdout then stderr."""
        return "\n".join([*self.lines, "--- stderr ---", *self.errors])

    def state(self) -> dict[str, Any]:
        """The page's snapshot, fetched as the page would."""
        with urllib.request.urlopen(f"{self.url}api/state", timeout=10) as resp:
            data: dict[str, Any] = json.load(resp)
        return data

    def wait_online(self, timeout: float = 60.0) -> dict[str, Any]:
        """Wait until the bot is online; the snapshot then."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.state()
            if state["bot_status"]["status"] == "online":
                return state
            if state["bot_status"]["status"] == "offline":
                break
            time.sleep(0.1)
        raise AssertionError(f"the bot did not come online:\n{self.output}")

    def children(self) -> list[int]:
        """Process ids of the playground's direct children (the bot)."""
        assert self.proc is not None
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def stop(self, sig: int = signal.SIGINT, timeout: float = 20.0) -> int:
        """Stop it as Ctrl-C does; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                raise AssertionError(f"the playground did not stop on {sig}:\n{self.output}") from None
        time.sleep(0.1)  # let the pump threads take the last lines
        return self.proc.returncode


def _pump(stream: Any, sink: list[str]) -> None:
    for line in stream:
        sink.append(line.rstrip("\n"))
