"""Logs: secrets redacted on every line, payload dumps cut; /readyz says which check failed, /livez not."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.client import NetexplainBot
from bot.config import Config, load_config
from bot.health import HealthServer, probe
from bot.logs import CONTENT_HIDDEN, REDACTED, HideDiscordPayloads, JsonFormatter, Redactor, secrets_of
from bot.store import PROBE_TIMEOUT, SCHEMA_VERSION, SQLiteSettingsStore
from tests.deploy.ops import free_port, healthz, probe_json

TOKEN = "MTIzNDU2Nzg5.token-part.never-shown"


def record(name: str, msg: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, args, None)


def test_the_token_and_database_password_are_redacted_in_text_and_json() -> None:
    config = load_config({"DISCORD_TOKEN": TOKEN, "NETEXPLAIN_DB": "postgresql://bot:pw-4411@db/netexplain"})
    for inner in (logging.Formatter("%(message)s"), JsonFormatter()):
        formatter = Redactor(inner, secrets_of(config))
        line = formatter.format(
            record("x", "token %s, url %s, pw %s", TOKEN, config.db_url.reveal(), "pw-4411")
        )
        assert TOKEN not in line and "pw-4411" not in line and line.count(REDACTED) == 3
    try:
        raise RuntimeError(f"login failed for {TOKEN}")
    except RuntimeError:
        failing = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", None, sys.exc_info())
    text = Redactor(JsonFormatter(), secrets_of(config)).format(failing)
    assert TOKEN not in text and "exception" in json.loads(text)


def test_json_lines_carry_time_level_logger_and_message() -> None:
    entry = json.loads(JsonFormatter().format(record("netexplain", "ready in %d servers", 3)))
    assert entry["level"] == "INFO" and entry["logger"] == "netexplain"
    assert entry["message"] == "ready in 3 servers" and entry["time"].endswith("+00:00")


def test_discord_payload_dumps_are_cut_to_their_event_name() -> None:
    hide = HideDiscordPayloads()
    event = {"op": 0, "t": "MESSAGE_CREATE", "s": 7, "d": {"content": "my secret 10.0.0.1"}}
    gateway = record("discord.gateway", "For Shard ID %s: WebSocket Event: %s", 0, event, level=logging.DEBUG)
    assert hide.filter(gateway)
    assert "my secret" not in gateway.getMessage() and "MESSAGE_CREATE" in gateway.getMessage()
    body = {"content": "my secret 10.0.0.1"}
    http = record(
        "discord.http", "%s %s with %s has returned %s", "POST", "/x", body, 200, level=logging.DEBUG
    )
    assert hide.filter(http)
    assert "my secret" not in http.getMessage() and CONTENT_HIDDEN in http.getMessage()


async def test_readiness_names_each_failing_check_and_liveness_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await SQLiteSettingsStore(tmp_path / "s.sqlite3").open()
    bot = NetexplainBot(Config(db_path=tmp_path / "s.sqlite3"), store=store)
    port = free_port()
    server = await HealthServer(bot, "127.0.0.1", port).start()
    monkeypatch.setenv("NETEXPLAIN_HEALTH_PORT", str(port))
    try:
        # The container's probe: /livez by default (alive though not connected), or the one named.
        assert await asyncio.to_thread(probe, []) == 0
        assert await asyncio.to_thread(probe, ["readyz"]) == 1
        assert await asyncio.to_thread(probe, ["nonsense"]) == 2
        status, body = await healthz(port)  # not connected, knowledge not loaded yet
        assert status == 503 and body["status"] == "unhealthy"
        assert body["checks"]["gateway"] == {"ok": False, "detail": "not connected"}
        assert body["checks"]["knowledge"]["ok"] is False
        assert body["checks"]["database"] == {
            "ok": True,
            "detail": f"writable, schema version {SCHEMA_VERSION}",
        }
        assert await probe_json(port, "readyz") == (status, body)  # /healthz is /readyz
        assert await probe_json(port, "livez") == (200, {"status": "ok"})  # alive though not ready

        await bot.setup_hook()  # loads the knowledge base (no network)
        writer = sqlite3.connect(tmp_path / "s.sqlite3", isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        status, body = await asyncio.wait_for(probe_json(port, "readyz"), PROBE_TIMEOUT * 4)
        assert status == 503 and body["checks"]["knowledge"]["ok"] is True
        assert body["checks"]["database"]["ok"] is False and "locked" in body["checks"]["database"]["detail"]
        writer.execute("UPDATE netexplain_meta SET schema_version = 99")
        writer.execute("COMMIT")  # a newer netexplain migrated the database under us
        status, body = await probe_json(port, "readyz")
        assert body["checks"]["database"] == {
            "ok": False,
            "detail": f"writable, schema version 99 (this code needs {SCHEMA_VERSION})",
        }
        writer.close()
    finally:
        await server.stop()
        await bot.close()


@pytest.mark.parametrize("port_env", ["", "free"])
def test_the_container_probe_exits_non_zero_without_a_healthy_bot(port_env: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "NETEXPLAIN_HEALTH_PORT": str(free_port()) if port_env else ""}
    result = subprocess.run([sys.executable, "-m", "bot.health"], env=env, capture_output=True, text=True)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("did not answer" if port_env else "NETEXPLAIN_HEALTH_PORT is not set") in result.stderr
