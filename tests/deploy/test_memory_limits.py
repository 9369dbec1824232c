"""Every way of running the bot sets a memory ceiling: the compose files and the systemd unit."""

from __future__ import annotations

import json
from pathlib import Path

from tests.deploy.test_deploy_files import DEPLOY, UNIT, compose_config

MIB = 1 << 20


def test_the_compose_files_cap_the_bots_memory(tmp_path: Path) -> None:
    single = compose_config(tmp_path / "single")
    assert single.returncode == 0, single.stderr
    scale = compose_config(
        tmp_path / "scale", (DEPLOY / "compose.scale.yaml").read_text(), {"PGPASSWORD": "pw"}
    )
    assert scale.returncode == 0, scale.stderr
    services = {**json.loads(single.stdout)["services"], **json.loads(scale.stdout)["services"]}
    bots = {name: s for name, s in services.items() if name.startswith("bot")}
    assert len(bots) == 3
    for name, bot in bots.items():
        assert int(bot["mem_limit"]) == 512 * MIB, name


def test_the_unit_caps_the_bots_memory() -> None:
    lines = [line.strip() for line in UNIT.read_text().splitlines()]
    assert "MemoryMax=512M" in lines
