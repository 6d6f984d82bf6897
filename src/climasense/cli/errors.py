"""Running a service call from a command: domain errors become a message and exit code 1."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import click

from climasense.cli.context import database
from climasense.cli.output import emit_json
from climasense.errors import ClimaSenseError
from climasense.settings import Settings

T = TypeVar("T")


def run_with_pool(call: Callable[[asyncpg.Pool], Awaitable[T]], *, as_json: bool) -> T:
    """Run `call(pool)` against the configured database; on a domain error print it (the
    contract's error body with `--json`) and exit 1."""

    async def run() -> T:
        async with database(Settings.from_env()) as (_, pool):
            return await call(pool)

    try:
        return asyncio.run(run())
    except ClimaSenseError as exc:
        if as_json:
            emit_json(exc.body())
        details: list[dict[str, Any]] = exc.details
        extra = "".join(f"\n  {d.get('field')}: {d.get('message')}" for d in details)
        click.echo(f"climasense: {exc.message}{extra}", err=True)
        sys.exit(1)
