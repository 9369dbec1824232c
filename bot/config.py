"""Typed settings for the Discord bot, read from the environment and an optional TOML file.

The environment wins over the file, so a container can override one value without rewriting the file.
Every variable is documented in the README's configuration table and in `deploy/.env.example`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration value is missing or malformed; the message is one sentence for the operator."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A string that never shows up in `repr`, `str` or logs; call `reveal()` where it is really needed."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        """The secret itself."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__


@dataclass(frozen=True, slots=True)
class ShardRange:
    """The shards this process owns: `first`..`last` (inclusive) of `count` (`NETEXPLAIN_SHARDS=0-3/16`)."""

    first: int
    last: int
    count: int

    @property
    def ids(self) -> list[int]:
        """The shard ids, in order."""
        return list(range(self.first, self.last + 1))

    def owns_guild(self, guild_id: int) -> bool:
        """Discord's rule: a guild lives on shard `(guild_id >> 22) % count`."""
        return self.first <= (guild_id >> 22) % self.count <= self.last

    def __str__(self) -> str:
        return f"{self.first}-{self.last}/{self.count}"


def parse_shards(raw: str) -> ShardRange | None:
    """`0-3/16`, `5/16` (one shard) or empty (None: one process, Discord's recommended shard count)."""
    text = raw.strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d+)(?:\s*-\s*(\d+))?\s*/\s*(\d+)", text)
    if match is None:
        raise ConfigError(f"NETEXPLAIN_SHARDS must look like 0-3/16 (shards 0 to 3 of 16), not {text!r}.")
    first, last, count = int(match[1]), int(match[2] or match[1]), int(match[3])
    if not 0 <= first <= last < count:
        raise ConfigError(
            f"NETEXPLAIN_SHARDS must name shards between 0 and the count minus one, first before last, "
            f"not {text!r}."
        )
    return ShardRange(first, last, count)


@dataclass(frozen=True, slots=True)
class Config:
    """Everything the bot needs to run; built by `load_config`."""

    token: Secret = field(default_factory=lambda: Secret(""))
    db_path: Path = field(default_factory=lambda: default_db_path())
    message_content: bool = False  # enables the privileged intent and, with it, watching
    log_level: str = "INFO"
    log_content: bool = False  # put message text into logs (off: privacy by default)
    api_base: str | None = None  # e.g. http://127.0.0.1:8080/api/v10 for a Discord-compatible server
    gateway_url: str | None = None  # e.g. ws://127.0.0.1:8080/gateway
    watch_cooldown_minutes: float = 5.0  # default per-channel, per-finding cooldown for watching
    owner_ids: frozenset[int] = frozenset()  # empty: the application's owner (or team) from Discord
    connect_timeout: float = 60.0  # seconds to wait for the first gateway connection before giving up
    db_url: Secret = field(default_factory=lambda: Secret(""))  # postgresql://...: shared settings
    log_format: str = "text"  # "json": one JSON object per line
    health_host: str = "127.0.0.1"
    health_port: int | None = None  # None: no /healthz or /metrics listener
    health_allowed_hosts: frozenset[str] = frozenset()  # Host names answered besides addresses, localhost
    shards: ShardRange | None = None  # None: one process, Discord's recommended shard count
    shutdown_timeout: float = 10.0  # seconds to let answers in flight finish on SIGTERM/SIGINT

    @property
    def uses_postgres(self) -> bool:
        """True when settings live in PostgreSQL (`NETEXPLAIN_DB=postgresql://...`)."""
        return bool(self.db_url)

    @property
    def database_label(self) -> str:
        """Where settings live, safe for logs: the SQLite path, or the PostgreSQL URL without password."""
        if not self.db_url:
            return str(self.db_path)
        parts = urlsplit(self.db_url.reveal())
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{parts.username}@" if parts.username else ""
        return f"{parts.scheme}://{user}{host}{port}{parts.path}"

    @property
    def uses_custom_discord(self) -> bool:
        """True when the bot talks to a Discord-compatible server other than discord.com."""
        return bool(self.api_base or self.gateway_url)


def default_db_path() -> Path:
    """`$XDG_DATA_HOME/netexplain/netexplain.sqlite3` (`~/.local/share/...`; `%APPDATA%` on Windows)."""
    if os.name == "nt" and os.environ.get("APPDATA"):
        base = Path(os.environ["APPDATA"])
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "netexplain" / "netexplain.sqlite3"


def _parse_bool(name: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1/true or 0/false, not {str(raw)!r}.")


def _parse_float(name: str, raw: Any, *, minimum: float = 0.0) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, not {str(raw)!r}.") from None
    if value != value or value < minimum:  # NaN or below the floor
        raise ConfigError(f"{name} must be a number of at least {minimum:g}, not {str(raw)!r}.")
    return value


def _parse_port(name: str, raw: Any) -> int | None:
    text = str(raw).strip()
    if not text:
        return None
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{name} must be a TCP port between 1 and 65535, not {text!r}.")
    return int(text)


def _parse_ids(name: str, raw: Any) -> frozenset[int]:
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    try:
        return frozenset(int(item) for item in items)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a list of Discord user ids, not {str(raw)!r}.") from None


def _parse_host_names(name: str, raw: Any) -> frozenset[str]:
    items = raw if isinstance(raw, list) else str(raw).replace(",", " ").split()
    names = frozenset(str(item).strip().lower().rstrip(".") for item in items)
    for host in names:
        if not host or not all(c.isalnum() or c in ".-_" for c in host):
            raise ConfigError(f"{name} must list host names such as metrics.internal, not {str(raw)!r}.")
    return names


def _parse_url(name: str, raw: Any, schemes: tuple[str, ...]) -> str | None:
    text = str(raw).strip().rstrip("/")
    if not text:
        return None
    if not text.startswith(tuple(s + "://" for s in schemes)):
        raise ConfigError(f"{name} must start with {' or '.join(s + '://' for s in schemes)}, not {text!r}.")
    return text


# TOML keys (lower case, no prefix) mapped to the environment variable they stand for.
_TOML_KEYS = {
    "discord_token": "DISCORD_TOKEN",
    "discord_token_file": "DISCORD_TOKEN_FILE",
    "db": "NETEXPLAIN_DB",
    "message_content": "NETEXPLAIN_MESSAGE_CONTENT",
    "log_level": "NETEXPLAIN_LOG_LEVEL",
    "log_content": "NETEXPLAIN_LOG_CONTENT",
    "api_base": "NETEXPLAIN_API_BASE",
    "gateway_url": "NETEXPLAIN_GATEWAY_URL",
    "watch_cooldown": "NETEXPLAIN_WATCH_COOLDOWN",
    "owner_ids": "NETEXPLAIN_OWNER_IDS",
    "connect_timeout": "NETEXPLAIN_CONNECT_TIMEOUT",
    "log_format": "NETEXPLAIN_LOG_FORMAT",
    "health_host": "NETEXPLAIN_HEALTH_HOST",
    "health_port": "NETEXPLAIN_HEALTH_PORT",
    "health_allowed_hosts": "NETEXPLAIN_HEALTH_ALLOWED_HOSTS",
    "shards": "NETEXPLAIN_SHARDS",
    "shutdown_timeout": "NETEXPLAIN_SHUTDOWN_TIMEOUT",
}


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"NETEXPLAIN_CONFIG points at {str(path)!r}, which does not exist.") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"The config file {str(path)!r} could not be read: {exc}.") from None
    # Accept both a flat file and one with a [netexplain] table.
    table = data.get("netexplain", data)
    unknown = sorted(set(table) - set(_TOML_KEYS))
    if unknown:
        raise ConfigError(f"The config file {str(path)!r} has unknown keys: {', '.join(unknown)}.")
    return {_TOML_KEYS[key]: value for key, value in table.items()}


def _read_token(values: Mapping[str, Any]) -> Secret:
    """`DISCORD_TOKEN`, or the contents of the file named by `DISCORD_TOKEN_FILE` (never both).

    A file keeps the token out of the process environment, which `/proc/PID/environ`, `docker inspect`
    and crash reporters show: systemd's `LoadCredential=` and Compose's `secrets:` both provide one.
    """
    token = str(values.get("DISCORD_TOKEN", "")).strip()
    path = str(values.get("DISCORD_TOKEN_FILE", "")).strip()
    if not path:
        return Secret(token)
    if token:
        raise ConfigError("Set DISCORD_TOKEN or DISCORD_TOKEN_FILE, not both.")
    try:
        text = Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"DISCORD_TOKEN_FILE names {path!r}, which could not be read: {exc.strerror or exc}."
        ) from None
    if not text:
        raise ConfigError(f"DISCORD_TOKEN_FILE names {path!r}, which is empty.")
    return Secret(text)


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Build the `Config` from the environment (and `NETEXPLAIN_CONFIG`, a TOML file, when set).

    A missing token is not an error here (`netexplain sync` and `run` report it themselves), but any
    malformed value raises `ConfigError` with one sentence naming the variable.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    if env.get("NETEXPLAIN_CONFIG"):
        values.update(_read_toml(Path(env["NETEXPLAIN_CONFIG"]).expanduser()))
    values.update({key: val for key, val in env.items() if key in _TOML_KEYS.values()})

    level = str(values.get("NETEXPLAIN_LOG_LEVEL", "INFO")).strip().upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"NETEXPLAIN_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}.")
    db_raw = str(values.get("NETEXPLAIN_DB", "")).strip()
    is_postgres = db_raw.startswith(POSTGRES_SCHEMES)
    log_format = str(values.get("NETEXPLAIN_LOG_FORMAT", "text")).strip().lower() or "text"
    if log_format not in LOG_FORMATS:
        raise ConfigError(f"NETEXPLAIN_LOG_FORMAT must be text or json, not {log_format!r}.")
    return Config(
        token=_read_token(values),
        db_path=Path(db_raw).expanduser() if db_raw and not is_postgres else default_db_path(),
        db_url=Secret(db_raw if is_postgres else ""),
        message_content=_parse_bool(
            "NETEXPLAIN_MESSAGE_CONTENT", values.get("NETEXPLAIN_MESSAGE_CONTENT", "")
        ),
        log_level=level,
        log_content=_parse_bool("NETEXPLAIN_LOG_CONTENT", values.get("NETEXPLAIN_LOG_CONTENT", "")),
        api_base=_parse_url("NETEXPLAIN_API_BASE", values.get("NETEXPLAIN_API_BASE", ""), ("http", "https")),
        gateway_url=_parse_url(
            "NETEXPLAIN_GATEWAY_URL", values.get("NETEXPLAIN_GATEWAY_URL", ""), ("ws", "wss")
        ),
        watch_cooldown_minutes=_parse_float(
            "NETEXPLAIN_WATCH_COOLDOWN", values.get("NETEXPLAIN_WATCH_COOLDOWN", 5.0)
        ),
        owner_ids=_parse_ids("NETEXPLAIN_OWNER_IDS", values.get("NETEXPLAIN_OWNER_IDS", "")),
        connect_timeout=_parse_float(
            "NETEXPLAIN_CONNECT_TIMEOUT", values.get("NETEXPLAIN_CONNECT_TIMEOUT", 60.0), minimum=1.0
        ),
        log_format=log_format,
        health_host=str(values.get("NETEXPLAIN_HEALTH_HOST", "127.0.0.1")).strip() or "127.0.0.1",
        health_port=_parse_port("NETEXPLAIN_HEALTH_PORT", values.get("NETEXPLAIN_HEALTH_PORT", "")),
        health_allowed_hosts=_parse_host_names(
            "NETEXPLAIN_HEALTH_ALLOWED_HOSTS", values.get("NETEXPLAIN_HEALTH_ALLOWED_HOSTS", "")
        ),
        shards=parse_shards(str(values.get("NETEXPLAIN_SHARDS", ""))),
        shutdown_timeout=_parse_float(
            "NETEXPLAIN_SHUTDOWN_TIMEOUT", values.get("NETEXPLAIN_SHUTDOWN_TIMEOUT", 10.0)
        ),
    )
