"""Versioned migrations: `NNNN_name.sql` or `NNNN_name.py` files in `migrations/`.

Each migration runs in its own transaction, recorded in `schema_migrations`. A session-level
advisory lock serialises concurrent runners (two `serve` processes starting together): the
second waits, then finds nothing left to do. `.py` migrations define `async def apply(conn)`
for steps that depend on the server (TimescaleDB present or not).
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import asyncpg

from climasense.db.pool import holds_session_state

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any constant will do; it only has to be the same in every process of this service.
_ADVISORY_LOCK_KEY = 0x636C696D61  # "clima"


@dataclass(frozen=True, slots=True)
class Migration:
    version: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = [
        Migration(path.name.split("_", 1)[0], path)
        for path in directory.iterdir()
        if path.suffix in {".sql", ".py"} and path.name[:4].isdigit()
    ]
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"duplicate migration versions in {directory}")
    return found


def _load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"climasense_migration_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot load migration {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the versions applied by this call."""
    holds_session_state(conn)  # a pooled connection is fully reset when it goes back
    await conn.execute("SET lock_timeout = '60s'")
    await conn.execute("SELECT pg_advisory_lock($1)", _ADVISORY_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY,
                   name text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        applied: list[str] = []
        for migration in discover(directory):
            if migration.version in done:
                continue
            log.info("applying migration %s", migration.path.name)
            async with conn.transaction():
                if migration.path.suffix == ".sql":
                    await conn.execute(migration.path.read_text())
                else:
                    await _load_module(migration.path).apply(conn)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version,
                    migration.path.stem,
                )
            applied.append(migration.version)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", _ADVISORY_LOCK_KEY)
        await conn.execute("RESET lock_timeout")
