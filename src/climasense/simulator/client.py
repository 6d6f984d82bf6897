"""HTTP for virtual devices, each device with its own key.

A fleet talks through `ClientShards`: a few aiohttp sessions, each serving a fixed share of the
devices over a bounded pool of keep-alive connections. One httpx client for the whole fleet cost
about 2.5 ms of CPU per request (httpcore's pool scanning its queue for every request, and an
`import sniffio` that fails and searches sys.path on every request): ~40 requests/s at 99 % of
a core. httpx with small pools still cost ~870 µs a request, aiohttp ~100 µs (docs/performance.md).
A single `httpx.AsyncClient` is still accepted (tests and a handful of devices): answers are
handed to the devices as `httpx.Response` either way.

A `429` (or `503`) is honoured as a device should: wait `Retry-After` seconds and try again,
a bounded number of times and never past the run's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
import orjson

Sleep = Callable[[float], Awaitable[None]]
Http = httpx.AsyncClient | aiohttp.ClientSession
# What a session can fail with, mapped to "server not reached" like httpx.HTTPError.
_AIOHTTP_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
_CHUNK = 64 * 1024

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
    """The fleet's HTTP sessions: one aiohttp session per `devices_per_client` devices, each with
    at most `connections_per_client` keep-alive connections (a device always talks through the
    same few connections, as a real one keeps its own)."""

    def __init__(
        self,
        base_url: str,
        *,
        devices_per_client: int = 100,
        connections_per_client: int = 16,
        timeout: float = 30.0,
    ) -> None:
        self.base_url = base_url
        self.devices_per_client = max(1, devices_per_client)
        self.connections_per_client = connections_per_client
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._sessions: list[aiohttp.ClientSession] = []

    def for_device(self, index: int) -> aiohttp.ClientSession:
        """The session of the `index`-th device (created on first use, in the running loop)."""
        shard = index // self.devices_per_client
        while len(self._sessions) <= shard:
            self._sessions.append(
                aiohttp.ClientSession(
                    base_url=self.base_url,
                    timeout=self._timeout,
                    connector=aiohttp.TCPConnector(limit=self.connections_per_client),
                )
            )
        return self._sessions[shard]

    async def aclose(self) -> None:
        for session in self._sessions:
            await session.close()
        self._sessions.clear()


def _response(status: int, headers: Any, content: bytes = b"") -> httpx.Response:
    """aiohttp's answer as the `httpx.Response` the devices read (its body already decoded)."""
    kept = [(k, v) for k, v in headers.items() if k.lower() != "content-encoding"]
    return httpx.Response(status, headers=kept, content=content)


class DeviceClient:
    def __init__(
        self,
        http: Http,
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
                response = await self._send(method, path, headers, kwargs)
            except (httpx.HTTPError, *_AIOHTTP_ERRORS):
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

    async def _send(
        self, method: str, path: str, headers: dict[str, str], kwargs: dict[str, Any]
    ) -> httpx.Response:
        if isinstance(self.http, httpx.AsyncClient):
            return await self.http.request(method, path, headers=headers, **kwargs)
        extra = {k: v for k, v in kwargs.items() if k != "json"}  # kept whole for a retry
        data = None
        if kwargs.get("json") is not None:
            data = orjson.dumps(kwargs["json"])
            headers = {**headers, "Content-Type": "application/json"}
        async with self.http.request(method, path, headers=headers, data=data, **extra) as answer:
            content = await answer.read()
        return _response(answer.status, answer.headers, content)

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
            response: httpx.Response | None = None
            try:
                if isinstance(self.http, httpx.AsyncClient):
                    async with self.http.stream("GET", path, headers=sent) as response:
                        if response.status_code in {200, 206}:
                            if on_start is not None:
                                on_start(response)
                            started = True
                            async for chunk in response.aiter_bytes():
                                on_chunk(chunk)
                            return Fetched(response)
                        await response.aread()
                else:
                    async with self.http.get(path, headers=sent) as answer:
                        if answer.status in {200, 206}:
                            response = _response(answer.status, answer.headers)
                            if on_start is not None:
                                on_start(response)
                            started = True
                            async for chunk in answer.content.iter_chunked(_CHUNK):
                                on_chunk(chunk)
                            return Fetched(response)
                        response = _response(answer.status, answer.headers, await answer.read())
            except (httpx.HTTPError, *_AIOHTTP_ERRORS):
                self.stats.errors += 1
                # Cut off mid-image: what arrived is kept, the caller may resume with `Range`.
                return Fetched(response if started else None, interrupted=started)
            assert response is not None
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
