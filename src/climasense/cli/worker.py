"""`climasense worker`: only the background worker, for scale-out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click

from climasense.cli.context import check_database, resolve_database
from climasense.runtime import build_services
from climasense.settings import Settings


@click.command()
def worker() -> None:
    """Run only the background worker (alert evaluation, offline detection, webhooks, expiry)."""
    settings = Settings.from_env()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    resolved, embedded = resolve_database(settings)

    async def run() -> None:
        await check_database(resolved.database_url)
        services = await build_services(resolved.with_overrides(run_worker=True))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        click.echo("ClimaSense worker running", err=True)
        try:
            await stop.wait()
        finally:
            await services.close()

    try:
        asyncio.run(run())
    finally:
        if embedded is not None:
            embedded.stop()
