"""Webhook hosts are looked up on threads of their own (webhooks/targets.py). A resolver that
does not answer holds up deliveries to that name for at most their timeout, and never the rest
of the process's blocking work: CI once saw a firmware upload to the local store get no answer
while the default executor's every thread sat in getaddrinfo for other tests' webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from concurrent.futures import Executor
from pathlib import Path

from climasense.blobstore.local import LocalBlobStore
from climasense.webhooks import targets
from climasense.webhooks.sender import HttpxSender

# More than any default executor has threads (min(32, CPUs + 4)): every one of them is held.
_MORE_THAN_THE_DEFAULT_EXECUTOR = 40


@contextlib.asynccontextmanager
async def held(executor: Executor | None, calls: int) -> AsyncIterator[None]:
    """`calls` blocking calls on `executor` (None: the loop's default), all of them waiting
    until the block ends, so its threads are busy and anything more queues behind them."""
    loop = asyncio.get_running_loop()
    release = threading.Event()
    waits = [loop.run_in_executor(executor, release.wait) for _ in range(calls)]
    try:
        yield
    finally:
        release.set()
        await asyncio.gather(*waits)


async def test_a_lookup_does_not_wait_for_the_default_executor() -> None:
    async with held(None, _MORE_THAN_THE_DEFAULT_EXECUTOR):
        addresses = await asyncio.wait_for(targets.resolve("localhost", 80), 5)
    assert addresses


async def test_stuck_lookups_do_not_hold_up_the_local_firmware_store(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    async def image() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"\x5a" * 4096

    async with held(targets.name_lookups, targets.NAME_LOOKUP_THREADS + 4):
        stored = await asyncio.wait_for(store.put("M-1/1.0.0", image()), 5)
    assert stored.size == 8 * 4096
    assert (tmp_path / "M-1/1.0.0").stat().st_size == stored.size


async def test_a_delivery_whose_lookup_is_stuck_settles_as_a_failed_attempt_in_its_timeout() -> (
    None
):
    sender = HttpxSender(0.5)
    try:
        async with held(targets.name_lookups, targets.NAME_LOOKUP_THREADS):
            started = asyncio.get_running_loop().time()
            result = await sender.send("https://hooks.example.invalid/x", b"{}", {})
            elapsed = asyncio.get_running_loop().time() - started
    finally:
        await sender.close()
    assert not result.delivered
    assert result.error == "timeout resolving the host"
    assert elapsed < 2
