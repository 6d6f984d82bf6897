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
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
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


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return " ".join(str(v) for v in value)
    return value


async def _rows(
    pool: asyncpg.Pool,
    header: Sequence[str],
    query: str,
    args: Sequence[Any],
    convert: Callable[[asyncpg.Record], Sequence[Any]] | None,
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
            for row in batch:
                values = convert(row) if convert is not None else tuple(row.values())
                writer.writerow([_cell(v) for v in values])
            yield buffer.getvalue().encode()


def csv_response(
    pool: asyncpg.Pool,
    *,
    filename: str,
    header: Sequence[str],
    query: str,
    args: Sequence[Any],
    convert: Callable[[asyncpg.Record], Sequence[Any]] | None = None,
) -> StreamingResponse:
    """Stream `query`'s rows as CSV under `header` (validate everything before calling this:
    once the first byte is sent the status is 200)."""
    return StreamingResponse(
        _rows(pool, header, query, args, convert),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
