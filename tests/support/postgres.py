"""A PostgreSQL server for the tests: the one at CLIMASENSE_TEST_PG_URL (default: the local
server on 127.0.0.1:5432), or, when that is not reachable, a throwaway cluster started with the
same embedded-server code production uses. Never skipped: no server and no binaries is a
clear failure saying what to install."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from climasense.db.embedded import EmbeddedPostgres
from climasense.db.migrate import migrate

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


async def _reachable(url: str) -> bool:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(url), 5)
    except (OSError, TimeoutError, asyncpg.PostgresError):
        return False
    await conn.close()
    return True


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield an admin URL (a database we may CREATE DATABASE from)."""
    url = os.environ.get("CLIMASENSE_TEST_PG_URL", DEFAULT_URL)
    if asyncio.run(_reachable(url)):
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="climasense-test-pg-") as tmp:
        embedded = EmbeddedPostgres(Path(tmp))
        try:
            dsn, _ = embedded.start()
        except Exception as exc:
            raise RuntimeError(
                f"No PostgreSQL at {url} and no throwaway cluster could be started ({exc}). "
                "Install PostgreSQL (Debian: apt-get install postgresql) or set "
                "CLIMASENSE_TEST_PG_URL."
            ) from exc
        try:
            yield dsn.rsplit("/", 1)[0] + "/postgres"
        finally:
            embedded.stop()


def database_url(admin_url: str, name: str) -> str:
    base, _, query = admin_url.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name
    return url + ("?" + query if query else "")


async def create_database(admin_url: str, *, template: str | None = None) -> str:
    name = f"cs_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(admin_url)
    try:
        suffix = f" TEMPLATE {template}" if template else ""
        await conn.execute(f"CREATE DATABASE {name}{suffix}")
    finally:
        await conn.close()
    return name


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        await conn.close()


async def migrated_template(admin_url: str) -> str:
    """A database with every migration applied, to clone per test (fast: a file copy)."""
    name = await create_database(admin_url)
    conn = await asyncpg.connect(database_url(admin_url, name))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return name
