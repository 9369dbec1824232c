"""Logging for `netexplain run`: text or JSON lines, secrets redacted, message content only when asked.

- `NETEXPLAIN_LOG_FORMAT=json` writes one JSON object per line (`time`, `level`, `logger`, `message`,
  `exception`), for log shippers; `text` (default) is discord.py's format.
- Every line passes through `Redactor`: the token and the database password are replaced by
  `[redacted]`, and the user-info of any URL by `***`, tracebacks included, whatever logged them.
- Without `NETEXPLAIN_LOG_CONTENT`, discord.py's DEBUG dumps of gateway events and HTTP bodies (which
  hold message text) are cut to their event name and sequence.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import discord

from bot.config import Config
from bot.core.credentials import redact_credentials

REDACTED = "[redacted]"
CONTENT_HIDDEN = "[content hidden: NETEXPLAIN_LOG_CONTENT=0]"


def secrets_of(config: Config) -> list[str]:
    """The strings that must never reach a log: the token, the database URL and its password."""
    found = [config.token.reveal(), config.db_url.reveal()]
    if config.db_url:
        password = urlsplit(config.db_url.reveal()).password
        if password:
            found.append(password)
    # Longest first, so a URL is replaced whole before its password is looked for.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class Redactor(logging.Formatter):
    """Wraps a formatter and replaces every secret in what it produced, tracebacks included."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = list(secrets)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        return redact_credentials(text)  # and any URL's password a message or an error carried


class HideDiscordPayloads(logging.Filter):
    """Cut discord.py's DEBUG dumps of gateway events and HTTP bodies, which carry message text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG or not isinstance(record.args, tuple):
            return True
        msg, args = str(record.msg), record.args
        if record.name == "discord.gateway" and msg.endswith("WebSocket Event: %s") and len(args) == 2:
            event = args[1] if isinstance(args[1], dict) else {}
            summary = {key: event.get(key) for key in ("op", "t", "s")}
            record.args = (args[0], f"{summary} {CONTENT_HIDDEN}")
        elif record.name == "discord.http" and msg == "%s %s with %s has returned %s" and len(args) == 4:
            record.args = (args[0], args[1], CONTENT_HIDDEN if args[2] else None, args[3])
        elif record.name == "discord.http" and msg == "%s %s has received %s" and len(args) == 3:
            record.args = (args[0], args[1], CONTENT_HIDDEN)
        return True


def setup_logging(config: Config) -> None:
    """Root logging on stderr in the configured format, with secrets redacted on every line."""
    level = getattr(logging, config.log_level)
    inner: logging.Formatter
    if config.log_format == "json":
        inner = JsonFormatter()
    elif sys.stderr.isatty():
        inner = discord.utils._ColourFormatter()
    else:  # discord.py colours output inside Docker even without a terminal; log files want plain text
        inner = logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Redactor(inner, secrets_of(config)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if not config.log_content:
        for name in ("discord.gateway", "discord.http"):
            logging.getLogger(name).addFilter(HideDiscordPayloads())
    if level > logging.DEBUG:
        logging.getLogger("discord.http").setLevel(logging.WARNING)
