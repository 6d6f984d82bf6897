"""Room on every page for the tables ingest updates on every report (HOT updates).

`latest_readings` (one row per device and sensor type), `devices` (`last_seen_at`) and, on
plain PostgreSQL, `readings_hourly` (the current hour's rollup row of each series) are updated
by every group commit. None of the updated columns is indexed, so PostgreSQL can write the new
row version on the same page without touching the indexes (a heap-only tuple) — but only if the
page has room. At the default fill factor (100) a freshly filled page has none: the first
update of each row goes to another page and adds an entry to every index. Measured with
`bench/ingest_statement.py`'s statement (3,000 devices, 300 readings per group): HOT updates
went from 64 % to 99.7 % of `latest_readings`' updates and from 16 % to 99 % of
`readings_hourly`'s, and PostgreSQL's CPU per reading fell by 11–13 % (docs/performance.md).

The cost is space: these tables' new pages are filled to half. `latest_readings` and `devices`
are small (a row per device or per series); `readings_hourly` grows with time, by about one row
per series and hour against the dozen readings of that hour in `readings`. The setting applies
to pages written from now on; `VACUUM FULL` (or pg_repack) rewrites existing ones.
TimescaleDB keeps `readings_hourly` as a continuous aggregate, which ingest does not update.
"""

from __future__ import annotations

import asyncpg

FILL_FACTOR = 50


async def apply(conn: asyncpg.Connection) -> None:
    tables = ["latest_readings", "devices"]
    if await conn.fetchval("SELECT engine FROM storage_info") != "timescaledb":
        tables.append("readings_hourly")
    for table in tables:
        await conn.execute(f"ALTER TABLE {table} SET (fillfactor = {FILL_FACTOR})")
