"""Headless Chromium (Debian's `chromium`, driven by Playwright) against a running playground.

`make test` installs chromium where it can (root and apt-get); elsewhere these tests are skipped with
the reason (CI sets NETEXPLAIN_REQUIRE_CHROMIUM=1: there a missing Chromium fails). Playwright's own
browser downloads are never used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.playground.process import PlaygroundProcess

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """Debian's chromium (or CHROMIUM_PATH), if installed."""
    candidate = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if os.path.exists(candidate) else None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One headless Chromium per module.

    Not per session: Playwright's sync API keeps an event loop marked as running while it is open,
    which would stop every later asyncio test with "cannot be called from a running event loop".
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (it is in the dev extra: pip install -e '.[dev]')")
    executable = chromium_path()
    if executable is None:
        reason = "Chromium is not installed: `apt-get install chromium` (make test does it as root)"
        if os.environ.get("NETEXPLAIN_REQUIRE_CHROMIUM") == "1":
            pytest.fail(reason)  # CI can install it, so a skip there would hide a broken set-up
        pytest.skip(reason)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the knowledge base that a test may break and mend."""
    copy = tmp_path_factory.mktemp("kb") / "knowledge"
    shutil.copytree(Path(__file__).resolve().parents[2] / "knowledge", copy)
    return copy


@pytest.fixture(scope="module")
def playground(knowledge: Path) -> Iterator[PlaygroundProcess]:
    """`python -m bot.playground` as a user runs it (on the copied knowledge), with the bot online."""
    pg = PlaygroundProcess("--port", "0", "--knowledge", str(knowledge))
    try:
        pg.start()
        pg.wait_online()
        yield pg
    finally:
        code = pg.stop()
        assert code == 0, pg.output


@pytest.fixture(scope="module")
def artifacts() -> Path:
    """Where screenshots go (git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
