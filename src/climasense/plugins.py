"""Background components each capability starts with the app (ingest writer, worker, …).

Each entry is `async def start(services) -> None` that may `services.spawn(...)` tasks and
register `services.on_close(...)`. Kept in one list so the app factory stays unchanged as
capabilities land.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from climasense.services import Services

Starter = Callable[[Services], Awaitable[None]]


def starters() -> list[Starter]:
    return []


async def start_components(services: Services) -> None:
    for start in starters():
        await start(services)
