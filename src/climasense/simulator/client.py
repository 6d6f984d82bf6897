"""HTTP for virtual devices: a few httpx clients shared out among the devices (`ClientShards`),
each device with its own key.

A `429` (or `503`) is honoured as a device should: wait `Retry-After` seconds and try again,
a bounded number of times and never past the run's deadline.
"""

from __future__ import annotations

import asyncio
import importlib.util
import ssl
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

Sleep = Callable[[float], Awaitable[None]]

# httpcore runs `import sniffio` for every request (to tell asyncio from trio). anyio 4 no longer
# installs sniffio, and a failed import is not remembered: each one searched sys.path again,
# about 300 µs a request, the simulator's largest cost after the pool scan. A `None` entry in
# sys.modules makes that import fail at once; httpcore then assumes asyncio, which we run.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

_RETRYABLE = {429, 503}


@dataclass
class Stats:
    """What the run did, for the progress line and the final summary."""

    requests: int = 0
    rate_limited: int = 0
    unavailable: int = 0
    errors: int = 0
    telemetry_posts: int = 0
    readings_accepted: int = 0
    readings_rejected: int = 0
    commands_acked: int = 0
    commands_failed: int = 0
    ota_completed: int = 0
    ota_failed: int = 0
    downloads_resumed: int = 0
    sensors_registered: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def retry_after_seconds(response: httpx.Response, default: float = 1.0) -> float:
    raw = response.headers.get("retry-after", "")
    try:
        return max(0.0, float(raw))
    except ValueError:
        return default


class ClientShards:
    """The fleet's HTTP clients: one httpx client (with a few keep-alive connections) per
    `devices_per_client` devices, instead of one client for the whole fleet.

    httpcore's pool scans its whole queue of waiting requests against its connections whenever a
    request starts or ends (`_assign_requests_to_connections`): with 1,500 devices behind one
    client of 200 connections, that scan cost more than the requests themselves (62 % of the
    simulator's CPU, about 40 requests/s). Small pools keep every scan short, and a device always
    talks through the same few connections, as a real one keeps its own."""

    def __init__(
        self,
        base_url: str,
        *,
        devices_per_client: int = 50,
        connections_per_client: int = 4,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.devices_per_client = max(1, devices_per_client)
        self._limits = httpx.Limits(
            max_connections=connections_per_client,
            max_keepalive_connections=connections_per_client,
        )
        self._timeout = timeout
        self._ssl: ssl.SSLContext | None = None  # one for every client (each costs milliseconds)
        self._clients: list[httpx.AsyncClient] = []

    def for_device(self, index: int) -> httpx.AsyncClient:
        """The client of the `index`-th device (created on first use)."""
        shard = index // self.devices_per_client
        while len(self._clients) <= shard:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            self._clients.append(
                httpx.AsyncClient(
                    base_url=self.base_url,
                    timeout=self._timeout,
                    limits=self._limits,
                    verify=self._ssl,
                )
            )
        return self._clients[shard]

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()
        self._clients.clear()


class DeviceClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        api_key: str,
        stats: Stats,
        *,
        deadline: float | None = None,
        max_retries: int = 3,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {api_key}"}
        self.stats = stats
        self.deadline = deadline
        self.max_retries = max_retries
        self._sleep = sleep
        self._clock = clock

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response | None:
        """The response, or None when the server could not be reached (counted as an error)."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        for attempt in range(self.max_retries + 1):
            self.stats.requests += 1
            try:
                response = await self.http.request(method, path, headers=headers, **kwargs)
            except httpx.HTTPError:
                self.stats.errors += 1
                return None
            if response.status_code not in _RETRYABLE:
                return response
            if response.status_code == 429:
                self.stats.rate_limited += 1
            else:
                self.stats.unavailable += 1
            wait = retry_after_seconds(response)
            if attempt == self.max_retries or not self._time_left(wait):
                return response
            await self._sleep(wait)
        raise AssertionError("unreachable")

    def _time_left(self, wait: float) -> bool:
        return self.deadline is None or self._clock() + wait < self.deadline

    async def stream_download(
        self,
        path: str,
        on_chunk: Callable[[bytes], None],
        *,
        headers: dict[str, str] | None = None,
        on_start: Callable[[httpx.Response], None] | None = None,
    ) -> Fetched:
        """GET a (firmware) body chunk by chunk, never holding it whole. `on_start` sees a
        `200`/`206` response before its first chunk (to restart or resume a partial image)."""
        sent = {**self.headers, **(headers or {})}
        for attempt in range(self.max_retries + 1):
            self.stats.requests += 1
            started = False
            try:
                async with self.http.stream("GET", path, headers=sent) as response:
                    if response.status_code in {200, 206}:
                        if on_start is not None:
                            on_start(response)
                        started = True
                        async for chunk in response.aiter_bytes():
                            on_chunk(chunk)
                        return Fetched(response)
                    await response.aread()
            except httpx.HTTPError:
                self.stats.errors += 1
                # Cut off mid-image: what arrived is kept, the caller may resume with `Range`.
                return Fetched(response if started else None, interrupted=started)
            if response.status_code not in _RETRYABLE:
                return Fetched(response)
            self.stats.rate_limited += response.status_code == 429
            wait = retry_after_seconds(response)
            if attempt == self.max_retries or not self._time_left(wait):
                return Fetched(response)
            await self._sleep(wait)
        return Fetched(None)


@dataclass
class Fetched:
    """A download's outcome: the response (None if the server could not be reached) and
    whether its body broke off part-way."""

    response: httpx.Response | None
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return (
            not self.interrupted
            and self.response is not None
            and self.response.status_code in {200, 206}
        )
