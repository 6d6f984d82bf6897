"""Background components each capability starts with the app (ingest writer, worker, …).

Each entry is `async def start(services) -> None` that may `services.spawn(...)` tasks and
register `services.on_close(...)`. Kept in one list so the app factory stays unchanged as
capabilities land.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from climasense.services import Services

Starter = Callable[[Services], Awaitable[None]]


async def _start_worker(services: Services) -> None:
    if services.settings.run_worker:
        from climasense.worker.runner import start_worker

        start_worker(services)


async def _start_blobstore(services: Services) -> None:
    from climasense.blobstore.factory import build_blob_store

    store = await build_blob_store(services.settings)
    services.extras["blobstore"] = store
    services.on_close(store.close)


def starters() -> list[Starter]:
    from climasense.telemetry.writer import start_ingest_writer

    # Order matters: components a later one depends on start first; the worker starts last.
    return [start_ingest_writer, _start_blobstore, _start_worker]


async def start_components(services: Services) -> None:
    for start in starters():
        await start(services)
