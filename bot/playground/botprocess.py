"""The real bot as a child process: `python -m bot.cli run`, configured only through its environment.

This is the same process model and code path as a deployment talking to Discord: the playground only
points `NETEXPLAIN_API_BASE` and `NETEXPLAIN_GATEWAY_URL` at the loopback Discord.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import bot

# What the bot logs once it has connected and received every guild (bot/client.py, on_ready).
READY_MARK = "ready as "
# Variables the playground sets itself; the user's own values of these would point the bot elsewhere.
_FORCED = (
    "DISCORD_TOKEN",
    "NETEXPLAIN_API_BASE",
    "NETEXPLAIN_GATEWAY_URL",
    "NETEXPLAIN_DB",
    "NETEXPLAIN_MESSAGE_CONTENT",
    "NETEXPLAIN_CONFIG",
)


def bot_environment(
    base: Mapping[str, str],
    *,
    token: str,
    api_base: str,
    gateway_url: str,
    db: Path,
    message_content: bool,
    knowledge: Path,
) -> dict[str, str]:
    """The environment for `netexplain run` against the loopback Discord.

    The user's other settings (log level, logging content, cooldown) pass through; a watch cooldown
    defaults to 0 here, because people trying the playground paste the same thing again and again.
    """
    env = {k: v for k, v in base.items() if k not in _FORCED}
    package_root = str(Path(bot.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    env.setdefault("NETEXPLAIN_WATCH_COOLDOWN", "0")
    env.update(
        DISCORD_TOKEN=token,
        NETEXPLAIN_API_BASE=api_base,
        NETEXPLAIN_GATEWAY_URL=gateway_url,
        NETEXPLAIN_DB=str(db),
        NETEXPLAIN_MESSAGE_CONTENT="1" if message_content else "0",
        NETEXPLAIN_KNOWLEDGE=str(knowledge),
        PYTHONUNBUFFERED="1",
    )
    return env


class BotProcess:
    """One run of a `bot.cli` subcommand, its output passed line by line to `on_line`."""

    def __init__(self, env: dict[str, str], *, command: str = "run", on_line: Callable[[str], None]) -> None:
        self.env = env
        self.command = command
        self.on_line = on_line
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self.ready = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> BotProcess:
        """Start the child (does not wait for it to be ready)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            self.command,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while raw := await self.proc.stdout.readline():
            line = raw.decode(errors="replace").rstrip("\n")
            self.lines = [*self.lines[-199:], line]  # the tail is enough to explain an exit
            if READY_MARK in line:
                self.ready.set()
            self.on_line(line)

    @property
    def returncode(self) -> int | None:
        """The exit code once the child has exited, else None."""
        return None if self.proc is None else self.proc.returncode

    async def wait_ready(self, timeout: float) -> bool:
        """True once the bot is ready; False if it exited first or `timeout` passed."""
        assert self.proc is not None
        ready = asyncio.create_task(self.ready.wait())
        exited = asyncio.create_task(self.proc.wait())
        _, pending = await asyncio.wait({ready, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return self.ready.is_set()

    async def wait(self, timeout: float | None = None) -> int:
        """The exit code, after the whole output has been read."""
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self) -> int | None:
        """SIGTERM (the bot shuts down cleanly on it), then SIGKILL if it hangs."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                return await self.wait(10.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
        return await self.wait(5.0)
