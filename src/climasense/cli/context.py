"""Database access for CLI commands: the configured URL, or the embedded PostgreSQL (started
for the command and stopped after it unless a server was already running it)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from climasense.db.embedded import EmbeddedPostgres
from climasense.db.migrate import migrate
from climasense.db.pool import create_pool
from climasense.errors import ConfigurationError
from climasense.settings import RuntimeSettings, Settings


def resolve_database(settings: Settings) -> tuple[RuntimeSettings, EmbeddedPostgres | None]:
    """Settings with a database URL; the embedded server if this call started it."""
    if settings.database_url is not None:
        return settings.runtime(), None
    embedded = EmbeddedPostgres(settings.data_dir, bindir_setting=settings.pg_bindir)
    dsn, started = embedded.start()
    secret = settings.resolved_secret_key()  # kept in the data folder, before the URL is set
    return settings.with_overrides(database_url=dsn, secret_key=secret).runtime(), (
        embedded if started else None
    )


async def check_database(dsn: str, timeout: float = 10) -> None:
    try:
        conn = await asyncio.wait_for(asyncpg.connect(dsn), timeout)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise ConfigurationError(
            f"cannot reach the database ({type(exc).__name__}: {exc}); "
            "check CLIMASENSE_DATABASE_URL"
        ) from None
    await conn.close()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[tuple[Settings, asyncpg.Pool]]:
    resolved, started = resolve_database(settings)
    try:
        await check_database(resolved.database_url)
        pool = await create_pool(resolved.database_url, min_size=1, max_size=4)
        try:
            async with pool.acquire() as conn:
                await migrate(conn)
            yield resolved, pool
        finally:
            await pool.close()
    finally:
        if started is not None:
            started.stop()
