"""A throwaway PostgreSQL server for the tests: its own cluster in a temp dir, on a free loopback port.

Uses Debian's `postgresql` package (`/usr/lib/postgresql/<version>/bin`, installed by `.ci/run`).
PostgreSQL refuses to run as root, so as root the cluster belongs to an unprivileged account.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REQUIRE_ENV = "NETEXPLAIN_REQUIRE_POSTGRES"  # set by .ci/run: a missing server fails instead of skipping


def postgres_bin() -> Path | None:
    """The directory holding `initdb` and `postgres`, newest version first; None when not installed."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    for directory in reversed(candidates):
        if (Path(directory) / "initdb").exists() and (Path(directory) / "postgres").exists():
            return Path(directory)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("postgres") else None


def skip_or_fail(reason: str) -> None:
    """Skip with `reason`, or fail when CI said PostgreSQL must be there."""
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{reason} ({REQUIRE_ENV}=1)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """`initdb` + `postgres` in a temp dir; `dsn` reaches it over 127.0.0.1 with trust auth."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="netexplain-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "netexplain"
        self.proc: subprocess.Popen[bytes] | None = None
        self._run_as: list[str] = []
        if os.geteuid() == 0:
            account = "postgres" if _has_user("postgres") else "nobody"
            entry = pwd.getpwnam(account)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            self._run_as = ["runuser", "-u", account, "--"]

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/postgres"

    def start(self, timeout: float = 30.0) -> PostgresServer:
        subprocess.run(
            [
                *self._run_as,
                str(self.bindir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                self.user,
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            capture_output=True,
        )
        self.proc = subprocess.Popen(
            [
                *self._run_as,
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.root),
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.root / "server.log").open("wb"),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'server.log').read_text()[-2000:]}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    ready = subprocess.run(
                        [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                        capture_output=True,
                    )
                    if ready.returncode == 0:
                        return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"postgres did not start within {timeout}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: "smart" shutdown; SIGINT would be "fast"
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        shutil.rmtree(self.root, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
