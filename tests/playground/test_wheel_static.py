"""The wheel carries the playground's page (HTML, CSS, JavaScript) inside the package."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STATIC_FILES = ("index.html", "app.js", "style.css")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("playground-wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    [built] = out.glob("netexplain-*.whl")
    return built


def test_the_wheel_holds_the_page_and_the_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in STATIC_FILES:
        assert f"bot/playground/static/{name}" in names
    assert "bot/playground/__main__.py" in names


def test_the_installed_playground_serves_its_own_files(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("NETEXPLAIN_KNOWLEDGE", "PYTHONPATH")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]])
    probe = "from bot.playground.app import STATIC; print(STATIC)"
    run = subprocess.run(
        [sys.executable, "-S", "-c", probe], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    assert run.returncode == 0, run.stderr
    static = Path(run.stdout.strip())
    assert static.is_relative_to(site)
    assert all((static / name).stat().st_size > 1000 for name in STATIC_FILES)
    usage = subprocess.run(
        [sys.executable, "-S", "-m", "bot.playground", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert usage.returncode == 0 and "--host" in usage.stdout
