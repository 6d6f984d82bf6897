"""The whole database as data, to prove a request changed nothing (or only its caller's rows)."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

import asyncpg

Snapshot = dict[str, list[dict[str, str]]]


async def snapshot(database_url: str) -> Snapshot:
    """Every row of every table in `public`, values as text, in a stable order."""
    conn = await asyncpg.connect(database_url)
    try:
        tables = [
            r["tablename"]
            for r in await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        result: Snapshot = {}
        for table in tables:
            rows = await conn.fetch(f'SELECT * FROM "{table}"')
            as_text = [{k: repr(v) for k, v in dict(row).items()} for row in rows]
            result[table] = sorted(as_text, key=lambda row: sorted(row.items()))
        return result
    finally:
        await conn.close()


def without_rows_of(state: Snapshot, owners: Iterable[str]) -> Snapshot:
    """`state` without the rows that name one of `owners` (UUIDs) in any column."""
    marks = {repr(UUID(owner)) for owner in owners}
    return {
        table: [row for row in rows if not marks & set(row.values())]
        for table, rows in state.items()
    }


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
