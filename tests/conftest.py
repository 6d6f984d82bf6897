"""Shared fixtures: a real PostgreSQL, a migrated database per test session (or per test where
global state matters), and the production app served over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from climasense.db.pool import create_pool
from climasense.settings import Settings
from tests.support import postgres
from tests.support.factories import admin_token
from tests.support.server import LiveServer, live_server
from tests.support.workers import TEST_SECRET  # re-exported: tests import it from here

# Unclosed sockets name the test and code that opened them (a leak warns only when collected).
pytest_plugins = ["tests.support.transport_origins"]


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    with postgres.postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def template_db(pg_admin_url: str) -> Iterator[str]:
    name = asyncio.run(postgres.migrated_template(pg_admin_url))
    yield name
    asyncio.run(postgres.drop_database(pg_admin_url, name))


@pytest.fixture(scope="session")
async def database_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A migrated database shared by the session: tests keep to their own devices."""
    name = await postgres.create_database(pg_admin_url, template=template_db)
    yield postgres.database_url(pg_admin_url, name)
    await postgres.drop_database(pg_admin_url, name)


@pytest.fixture
async def fresh_database_url(pg_admin_url: str, template_db: str) -> AsyncIterator[str]:
    """A migrated database of this test's own (for tests of global state)."""
    name = await postgres.create_database(pg_admin_url, template=template_db)
    yield postgres.database_url(pg_admin_url, name)
    await postgres.drop_database(pg_admin_url, name)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the session's shared database (modules that need their own database
    define their own `pool`)."""
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


def make_settings(database_url: str, tmp_path: object, **overrides: object) -> Settings:
    from pathlib import Path

    # Tests deliver webhooks to receivers on 127.0.0.1: private targets allowed unless a test
    # says otherwise (tests/integration/edge/test_webhook_targets.py checks the default).
    base = Settings(
        database_url=database_url,
        data_dir=Path(str(tmp_path)),
        secret_key=TEST_SECRET,
        webhook_allow_private_networks=True,
    )
    return base.with_overrides(**overrides) if overrides else base


@pytest.fixture
async def server(database_url: str, tmp_path: object) -> AsyncIterator[LiveServer]:
    async with live_server(make_settings(database_url, tmp_path)) as live:
        yield live


@pytest.fixture
async def token(server: LiveServer) -> str:
    return await admin_token(server.services)
