"""`python -m bot.playground` and `netexplain playground`: each prints its URL, says where it
listens, runs the bot and stops cleanly."""

from __future__ import annotations

import socket
import time
import urllib.request

import pytest

from tests.playground.process import PlaygroundProcess

pytestmark = pytest.mark.e2e


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    "entry",
    [("-m", "bot.playground"), ("-m", "bot.cli", "playground")],
    ids=["python -m bot.playground", "netexplain playground"],
)
def test_the_playground_prints_its_url_runs_the_bot_and_stops_with_it(entry: tuple[str, ...]) -> None:
    pg = PlaygroundProcess("--port", "0", entry=entry)
    try:
        url = pg.start()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert "127.0.0.1 only" in pg.output
        state = pg.wait_online()
        assert state["commands"]["slash"], "netexplain sync published no commands"
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert b"netexplain playground" in resp.read()
        bots = pg.children()
        assert bots, "the bot should run as a child process"
        assert "ready as netexplain" in "\n".join(pg.errors)  # the bot's own log, passed through
    finally:
        code = pg.stop()
    assert code == 0, pg.output
    assert "stopping" in pg.output
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in bots) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in bots), "the bot outlived the playground"
    assert "Traceback" not in pg.output, pg.output


def test_a_port_in_use_is_one_sentence() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        pg = PlaygroundProcess("--port", str(port))
        with pytest.raises(AssertionError):
            pg.start(timeout=30)
        assert pg.proc is not None and pg.proc.wait(20) == 1
    errors = "\n".join(pg.errors)
    assert f"cannot listen on 127.0.0.1:{port}" in errors and "Traceback" not in errors
