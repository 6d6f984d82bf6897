"""CSV answers streamed from a server-side cursor (CONTRACT §11 export).

The query runs in one read-only REPEATABLE READ transaction (one consistent snapshot across
every "page") on a connection held for the length of the download; rows are fetched
`BATCH_ROWS` at a time and written out as they arrive, so the server's memory holds one batch
whatever the size of the result. The statement timeout of the pool does not apply: a cursor
fetch is one short statement per batch.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import StreamingResponse

BATCH_ROWS = 5_000


def wants_csv(request: Request) -> bool:
    """True when the client asked for CSV (`Accept: text/csv`, or `?format=csv` for links)."""
    accept = request.headers.get("accept", "")
    if request.query_params.get("format") == "csv":
        return True
    return any(part.split(";")[0].strip().lower() == "text/csv" for part in accept.split(","))


def rfc3339(column: str) -> str:
    """SQL text of a timestamptz column as RFC 3339 (`2026-11-30T17:00:00.5+00:00`; the
    session time zone is UTC): formatted by PostgreSQL, so rows are written as fetched."""
    return f"(to_json({column}) #>> '{{}}')"


async def _rows(
    pool: asyncpg.Pool,
    header: Sequence[str],
    query: str,
    args: Sequence[Any],
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield buffer.getvalue().encode()
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        cursor = await conn.cursor(query, *args)
        while True:
            batch = await cursor.fetch(BATCH_ROWS, timeout=300)
            if not batch:
                break
            buffer.seek(0)
            buffer.truncate()
            # Each column arrives as text, a number, a UUID or NULL (an empty cell): the C
            # writer takes the records as they are, no per-value Python call.
            writer.writerows(batch)
            yield buffer.getvalue().encode()


def csv_response(
    pool: asyncpg.Pool,
    *,
    filename: str,
    header: Sequence[str],
    query: str,
    args: Sequence[Any],
) -> StreamingResponse:
    """Stream `query`'s rows as CSV under `header` (validate everything before calling this:
    once the first byte is sent the status is 200). Format timestamps and arrays in the query
    (`rfc3339`, `array_to_string`): values are written with `str()`."""
    return StreamingResponse(
        _rows(pool, header, query, args),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
