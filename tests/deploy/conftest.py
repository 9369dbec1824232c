"""Fixtures for the deploy tests: a real PostgreSQL server, started once per session when installed."""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterator

import pytest

from tests.deploy.postgres import PostgresServer, postgres_bin, skip_or_fail


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL server on a free loopback port (skipped, with the reason, if not installed)."""
    if importlib.util.find_spec("asyncpg") is None:
        skip_or_fail("asyncpg is not installed (pip install -e '.[dev]' installs it)")
    bindir = postgres_bin()
    if bindir is None:
        skip_or_fail("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
        raise AssertionError("unreachable")
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def pg_dsn(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server, for one test."""
    import asyncpg

    name = f"t{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(postgres.dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return postgres.dsn.rsplit("/", 1)[0] + f"/{name}"
