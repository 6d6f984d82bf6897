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
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
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
) -> AsyncGenerator[bytes]:
    """The CSV in chunks: the first is the header and the first batch, produced only once the
    query has run, so a query the database refuses raises before the response has started."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    async with (
        pool.acquire() as conn,
        conn.transaction(isolation="repeatable_read", readonly=True),
    ):
        cursor = await conn.cursor(query, *args)
        while True:
            batch = await cursor.fetch(BATCH_ROWS, timeout=300)
            # Each column arrives as text, a number, a UUID or NULL (an empty cell): the C
            # writer takes the records as they are, no per-value Python call.
            writer.writerows(batch)
            if buffer.tell():  # the header is always in the first chunk
                yield buffer.getvalue().encode()
            if not batch:
                break
            buffer.seek(0)
            buffer.truncate()


async def csv_response(
    pool: asyncpg.Pool,
    *,
    filename: str,
    header: Sequence[str],
    query: str,
    args: Sequence[Any],
) -> StreamingResponse:
    """Stream `query`'s rows as CSV under `header`. The query runs and its first batch is
    fetched before this returns, so what the database refuses (a NUL in a text argument, a
    timeout) is an error answer, not a 200 cut short; after that the status is 200. Format
    timestamps and arrays in the query (`rfc3339`, `array_to_string`): values are written
    with `str()`."""
    chunks = _rows(pool, header, query, args)
    first = await anext(chunks)

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # the connection goes back however the download ends

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
