"""Installed non-editable, as a container installs it, the package carries its knowledge base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import bot
from bot.core import explain
from bot.kb import check_knowledge, knowledge_dir, load_knowledge
kb = load_knowledge()
exp = explain("127.0.0.1:62893", kb).to_json()
print(json.dumps({
    "bot": bot.__file__,
    "knowledge": str(knowledge_dir()),
    "counts": check_knowledge().counts,
    "finding": exp["findings"][0],
}))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project built as a wheel and installed into a plain folder."""
    work = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(work / "dist")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    [wheel] = (work / "dist").glob("netexplain-*.whl")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(work / "site"),
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    return work / "site"


def run_installed(site: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # -S skips site-packages, and with it the editable install's path hook; the dependencies come
    # from the test environment's site-packages, after the installed wheel.
    env = {k: v for k, v in os.environ.items() if k not in ("NETEXPLAIN_KNOWLEDGE", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return subprocess.run(
        [sys.executable, "-S", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )


def test_the_wheel_ships_the_knowledge_base_inside_the_package(site: Path) -> None:
    packaged = site / "bot" / "_knowledge"
    assert (packaged / "addresses.yaml").is_file()
    assert (packaged / "terms" / "localhost.yaml").is_file()
    assert (packaged / "data" / "iana-service-names-port-numbers.csv").is_file()


def test_the_installed_package_loads_its_own_knowledge_and_explains(site: Path, tmp_path: Path) -> None:
    run = run_installed(site, tmp_path, "-c", PROBE)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout)
    assert Path(got["bot"]).is_relative_to(site), got["bot"]
    assert Path(got["knowledge"]) == site / "bot" / "_knowledge"
    assert got["counts"]["terms"] > 0 and got["counts"]["IANA ports"] > 5000
    finding = got["finding"]
    assert finding["address"] == {"ip": "127.0.0.1", "version": 4, "category": "loopback"}
    assert finding["port"]["ephemeral_on"] == ["freebsd", "macos", "windows"]


def test_the_installed_command_line_answers(site: Path, tmp_path: Path) -> None:
    run = run_installed(site, tmp_path, "-m", "bot.cli", "explain", "--json", "127.0.0.1:62893")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["findings"][0]["port"]["range"] == "dynamic"
