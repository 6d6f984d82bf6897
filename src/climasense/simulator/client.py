"""HTTP for virtual devices, each device with its own key.

A fleet talks through `ClientShards`: a few aiohttp sessions, each serving a fixed share of the
devices over a bounded pool of keep-alive connections. One httpx client for the whole fleet cost
about 2.5 ms of CPU per request (httpcore's pool scanning its queue for every request, and an
`import sniffio` that fails and searches sys.path on every request): ~40 requests/s at 99 % of
a core. httpx with small pools still cost ~870 µs a request, aiohttp ~100 µs (docs/performance.md).
A single `httpx.AsyncClient` is still accepted (tests and a handful of devices). Devices read an
`Answer`: an `httpx.Response` from httpx, a `ShardAnswer` from the shards.

A `429` (or `503`) is honoured as a device should: wait `Retry-After` seconds and try again,
a bounded number of times and never past the run's deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

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


class Answer(Protocol):
    """What a device reads of a response. `httpx.Response` is one; `ShardAnswer` is the
    aiohttp one."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...  # names case-insensitive

    def json(self) -> Any: ...


@dataclass(slots=True)
class ShardAnswer:
    """An aiohttp answer as a device reads it: status, headers (aiohttp's case-insensitive
    proxy) and the body, already read and decoded. Building an `httpx.Response` from it instead
    cost ~10 % of the simulator's CPU per request (py-spy, 1,500 devices at `--interval 1.1`;
    docs/performance.md, round 10)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes = b""

    def json(self) -> Any:
        return orjson.loads(self.content)


def retry_after_seconds(response: Answer, default: float = 1.0) -> float:
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
                    # A device keeps no cookies (the device API sets none): nothing to store
                    # or send back per request.
                    cookie_jar=aiohttp.DummyCookieJar(),
                )
            )
        return self._sessions[shard]

    async def aclose(self) -> None:
        for session in self._sessions:
            await session.close()
        self._sessions.clear()


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

    async def request(self, method: str, path: str, **kwargs: Any) -> Answer | None:
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
    ) -> Answer:
        if isinstance(self.http, httpx.AsyncClient):
            return await self.http.request(method, path, headers=headers, **kwargs)
        extra = {k: v for k, v in kwargs.items() if k != "json"}  # kept whole for a retry
        data = None
        if kwargs.get("json") is not None:
            data = orjson.dumps(kwargs["json"])
            headers = {**headers, "Content-Type": "application/json"}
        async with self.http.request(method, path, headers=headers, data=data, **extra) as answer:
            content = await answer.read()
        return ShardAnswer(answer.status, answer.headers, content)

    def _time_left(self, wait: float) -> bool:
        return self.deadline is None or self._clock() + wait < self.deadline

    async def stream_download(
        self,
        path: str,
        on_chunk: Callable[[bytes], None],
        *,
        headers: dict[str, str] | None = None,
        on_start: Callable[[Answer], None] | None = None,
    ) -> Fetched:
        """GET a (firmware) body chunk by chunk, never holding it whole. `on_start` sees a
        `200`/`206` response before its first chunk (to restart or resume a partial image)."""
        sent = {**self.headers, **(headers or {})}
        for attempt in range(self.max_retries + 1):
            self.stats.requests += 1
            started = False
            response: Answer | None = None
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
                            response = ShardAnswer(answer.status, answer.headers)
                            if on_start is not None:
                                on_start(response)
                            started = True
                            async for chunk in answer.content.iter_chunked(_CHUNK):
                                on_chunk(chunk)
                            return Fetched(response)
                        response = ShardAnswer(answer.status, answer.headers, await answer.read())
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

    response: Answer | None
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return (
            not self.interrupted
            and self.response is not None
            and self.response.status_code in {200, 206}
        )
