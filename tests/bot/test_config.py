"""Configuration: typed values from the environment and TOML, one clear sentence when a value is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, default_db_path, load_config


def test_defaults_need_only_a_token() -> None:
    config = load_config({"DISCORD_TOKEN": "abc"})
    assert config.token.reveal() == "abc"
    assert config.message_content is False and config.log_content is False
    assert config.watch_cooldown_minutes == 5.0
    assert config.log_level == "INFO"
    assert config.api_base is None and config.gateway_url is None


def test_token_is_never_shown_in_repr() -> None:
    config = load_config({"DISCORD_TOKEN": "super-secret-token"})
    assert "super-secret-token" not in repr(config)
    assert "super-secret-token" not in str(config.token)
    assert not Secret("")


def test_every_documented_variable_is_read() -> None:
    config = load_config(
        {
            "DISCORD_TOKEN": "t",
            "NETEXPLAIN_DB": "/tmp/x/settings.sqlite3",
            "NETEXPLAIN_MESSAGE_CONTENT": "true",
            "NETEXPLAIN_LOG_LEVEL": "debug",
            "NETEXPLAIN_LOG_CONTENT": "1",
            "NETEXPLAIN_API_BASE": "http://127.0.0.1:8080/api/v10/",
            "NETEXPLAIN_GATEWAY_URL": "ws://127.0.0.1:8080/gateway",
            "NETEXPLAIN_WATCH_COOLDOWN": "2.5",
            "NETEXPLAIN_OWNER_IDS": "1, 2",
        }
    )
    assert config.db_path == Path("/tmp/x/settings.sqlite3")
    assert config.message_content and config.log_content
    assert config.log_level == "DEBUG"
    assert config.api_base == "http://127.0.0.1:8080/api/v10"
    assert config.gateway_url == "ws://127.0.0.1:8080/gateway"
    assert config.watch_cooldown_minutes == 2.5
    assert config.owner_ids == frozenset({1, 2})
    assert config.uses_custom_discord


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NETEXPLAIN_MESSAGE_CONTENT", "maybe"),
        ("NETEXPLAIN_LOG_LEVEL", "LOUD"),
        ("NETEXPLAIN_WATCH_COOLDOWN", "-1"),
        ("NETEXPLAIN_WATCH_COOLDOWN", "soon"),
        ("NETEXPLAIN_API_BASE", "ftp://example"),
        ("NETEXPLAIN_GATEWAY_URL", "http://127.0.0.1/gateway"),
        ("NETEXPLAIN_OWNER_IDS", "me"),
    ],
)
def test_a_bad_value_is_one_sentence_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    message = str(info.value)
    assert message.startswith(name) and message.endswith(".") and "\n" not in message


def test_toml_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    path = tmp_path / "netexplain.toml"
    path.write_text(
        '[netexplain]\ndiscord_token = "from-file"\nwatch_cooldown = 10\nmessage_content = true\n'
    )
    config = load_config({"NETEXPLAIN_CONFIG": str(path), "DISCORD_TOKEN": "from-env"})
    assert config.token.reveal() == "from-env"
    assert config.watch_cooldown_minutes == 10.0
    assert config.message_content is True


def test_toml_unknown_keys_and_missing_files_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("tokn = 'x'\n")
    with pytest.raises(ConfigError, match="unknown keys: tokn"):
        load_config({"NETEXPLAIN_CONFIG": str(path)})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({"NETEXPLAIN_CONFIG": str(tmp_path / "missing.toml")})


def test_default_database_lives_in_the_user_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_db_path() == tmp_path / "netexplain" / "netexplain.sqlite3"


def test_operations_settings_are_read() -> None:
    config = load_config(
        {
            "NETEXPLAIN_LOG_FORMAT": "JSON",
            "NETEXPLAIN_HEALTH_HOST": "0.0.0.0",
            "NETEXPLAIN_HEALTH_PORT": "9102",
            "NETEXPLAIN_SHARDS": "4-7/16",
            "NETEXPLAIN_SHUTDOWN_TIMEOUT": "2.5",
        }
    )
    assert config.log_format == "json"
    assert (config.health_host, config.health_port) == ("0.0.0.0", 9102)
    assert config.shards is not None and config.shards.ids == [4, 5, 6, 7] and config.shards.count == 16
    assert config.shutdown_timeout == 2.5
    defaults = load_config({})
    assert defaults.health_port is None and defaults.health_host == "127.0.0.1"
    assert defaults.shards is None and defaults.log_format == "text"


def test_one_shard_and_discords_guild_rule() -> None:
    shards = load_config({"NETEXPLAIN_SHARDS": "3/4"}).shards
    assert shards is not None and shards.ids == [3] and str(shards) == "3-3/4"
    guild = (123456789 << 22) | 77  # shard = (id >> 22) % count
    assert shards.owns_guild(guild) == (123456789 % 4 == 3)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NETEXPLAIN_SHARDS", "0-3"),
        ("NETEXPLAIN_SHARDS", "4-2/16"),
        ("NETEXPLAIN_SHARDS", "0-16/16"),
        ("NETEXPLAIN_SHARDS", "0/0"),
        ("NETEXPLAIN_HEALTH_PORT", "0"),
        ("NETEXPLAIN_HEALTH_PORT", "http"),
        ("NETEXPLAIN_HEALTH_PORT", "70000"),
        ("NETEXPLAIN_LOG_FORMAT", "xml"),
        ("NETEXPLAIN_SHUTDOWN_TIMEOUT", "-3"),
    ],
)
def test_a_bad_operations_value_is_one_sentence(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config({name: value})
    message = str(info.value)
    assert message.startswith(name) and message.endswith(".") and "\n" not in message


def test_a_postgresql_url_is_secret_and_logged_without_its_password() -> None:
    config = load_config({"NETEXPLAIN_DB": "postgresql://bot:hunter2-pw@db.internal:5433/netexplain"})
    assert config.uses_postgres
    assert "hunter2-pw" not in repr(config)
    assert config.database_label == "postgresql://bot@db.internal:5433/netexplain"
    assert not load_config({"NETEXPLAIN_DB": "/tmp/x.sqlite3"}).uses_postgres


def test_the_token_can_come_from_a_file_and_not_from_both(tmp_path: Path) -> None:
    token_file = tmp_path / "discord-token"
    token_file.write_text("from-a-file\n")
    config = load_config({"DISCORD_TOKEN_FILE": str(token_file)})
    assert config.token.reveal() == "from-a-file" and "from-a-file" not in repr(config)
    with pytest.raises(ConfigError, match="not both"):
        load_config({"DISCORD_TOKEN_FILE": str(token_file), "DISCORD_TOKEN": "x"})
    with pytest.raises(ConfigError, match="could not be read"):
        load_config({"DISCORD_TOKEN_FILE": str(tmp_path / "missing")})
    token_file.write_text("  \n")
    with pytest.raises(ConfigError, match="empty"):
        load_config({"DISCORD_TOKEN_FILE": str(token_file)})
