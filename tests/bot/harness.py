"""The real bot as a subprocess (`python -m bot.cli run`), configured only through its environment."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.loopback_discord import LoopbackDiscord

REPO = Path(__file__).resolve().parents[2]


def bot_env(
    server: LoopbackDiscord | None, db: Path, *, message_content: bool, **extra: str
) -> dict[str, str]:
    """The environment `netexplain run` reads, and nothing else of ours (no monkeypatching)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETEXPLAIN_", "DISCORD_"))}
    if server is not None:
        env.update(
            DISCORD_TOKEN=server.token,
            NETEXPLAIN_API_BASE=server.api_base,
            NETEXPLAIN_GATEWAY_URL=server.gateway_url,
        )
    env.update(
        NETEXPLAIN_DB=str(db),
        NETEXPLAIN_MESSAGE_CONTENT="1" if message_content else "0",
        NETEXPLAIN_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


class BotProcess:
    """`python -m bot.cli run` (or another subcommand) with its output collected line by line.

    `argv` replaces `-m bot.cli <command>` with other arguments to the same Python (the benchmark's bare
    discord.py client is `-c <source>`).
    """

    def __init__(
        self, env: dict[str, str], *, command: str = "run", argv: Sequence[str] | None = None
    ) -> None:
        self.env = env
        self.command = command
        self.argv = list(argv) if argv is not None else ["-m", "bot.cli", command]
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self._reader: asyncio.Task[None] | None = None
        self._new_line = asyncio.Event()

    async def start(self) -> BotProcess:
        """Start the bot (does not wait for it to be ready)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            *self.argv,
            cwd=REPO,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.lines.append(line.decode(errors="replace").rstrip("\n"))
            self._new_line.set()

    @property
    def pid(self) -> int:
        """The process id (once started)."""
        assert self.proc is not None, "start() first"
        return self.proc.pid

    @property
    def output(self) -> str:
        """Everything the bot printed so far."""
        return "\n".join(self.lines)

    async def wait_for_line(self, needle: str, timeout: float = 20.0) -> str:
        """The first output line containing `needle`."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for line in self.lines:
                if needle in line:
                    return line
            if self.proc is not None and self.proc.returncode is not None and self._reader is not None:
                await self._reader
                if not any(needle in line for line in self.lines):
                    raise AssertionError(
                        f"bot exited ({self.proc.returncode}) before {needle!r}:\n{self.output}"
                    )
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"no {needle!r} from the bot within {timeout}s:\n{self.output}")
            self._new_line.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_line.wait(), min(remaining, 0.5))

    async def ready(self, timeout: float = 20.0) -> BotProcess:
        """Wait until the bot logged READY."""
        await self.wait_for_line("ready as", timeout)
        return self

    async def wait(self, timeout: float = 20.0) -> int:
        """Wait for the process to exit; its exit code."""
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    async def stop(self) -> int | None:
        """SIGTERM (a clean shutdown), then SIGKILL if it hangs."""
        if self.proc is None or self.proc.returncode is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return await self.wait(10.0)
        except TimeoutError:
            self.proc.kill()
            return await self.wait(5.0)


def replies_to(server: LoopbackDiscord, message_id: str) -> list[dict[str, Any]]:
    """The bot's messages threaded on `message_id`."""
    bot_id = server.bot_user["id"]
    return [
        m
        for m in list(server.messages.values())
        if m["author"]["id"] == bot_id and (m.get("message_reference") or {}).get("message_id") == message_id
    ]


def embed_text(message: dict[str, Any]) -> str:
    """All text of a message's embeds, lower-cased, for "does it explain X" checks."""
    parts: list[str] = []
    for embed in message.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
        parts += [f"{f.get('name', '')} {f.get('value', '')}" for f in embed.get("fields") or []]
        parts.append((embed.get("footer") or {}).get("text") or "")
    return "\n".join(parts).lower()


def buttons(message: dict[str, Any]) -> dict[str, str]:
    """label → custom_id of a message's buttons."""
    out: dict[str, str] = {}
    for row in message.get("components") or []:
        for item in row.get("components") or []:
            if item.get("type") == 2 and item.get("custom_id"):
                out[item.get("label") or ""] = item["custom_id"]
    return out


async def click_once_listening(
    server: LoopbackDiscord, user: dict[str, Any], message_id: str, custom_id: str, *, tries: int = 3
) -> dict[str, Any]:
    """Click a button of an answer just sent, and the bot's response to it.

    discord.py starts listening to a view's buttons only once the send that carries it has returned,
    so a click sent the instant the message appears (no person is that fast) can go unheard; such a
    click is sent again, as a person would click again.
    """
    for attempt in range(tries):
        interaction = await server.click_button(user, message_id, custom_id)
        try:
            return await interaction.response(timeout=2.0 if attempt < tries - 1 else 5.0)
        except TimeoutError:
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
