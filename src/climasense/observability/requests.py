"""Per-request observation around the whole ASGI app: request id, access entry, HTTP metrics.

One wrapper serves both surfaces (the device router and FastAPI), so every response carries
`X-Request-ID` and every request gives exactly one access entry and one metrics update. The
route is the template the router matched (`/v1/ota/download/{version}`), never the raw path:
the device router names it in `scope["climasense.route"]`, FastAPI leaves its route in the
scope; anything unmatched is `unmatched`, so scanners cannot grow the label set.

**Cost.** Through `logging`, one access entry cost ~45 µs of CPU on the 2-core bench machine
(LogRecord, formatter, a write(2) per line): +25 % on a telemetry request. So the entries
skip the LogRecord: a request appends a tuple, and `AccessLog.flush` (twice a second, and at
shutdown) formats them in the configured format (the same fields and layout as
`observability.logging`) and writes them to stdout in one call. The `climasense.access`
logger's level still decides whether there are entries at all.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import re
import sys
import time
from typing import TYPE_CHECKING, Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from climasense.observability import metrics

if TYPE_CHECKING:
    from climasense.api.device_router import DeviceRouter

ACCESS_LOGGER = "climasense.access"
access_log = logging.getLogger(ACCESS_LOGGER)

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[\x21-\x7e]{1,128}")
UNMATCHED = "unmatched"
_MAX_BUFFERED = 512  # entries; written at once past this


def incoming_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The client's `X-Request-ID` when it is 1..128 visible ASCII characters."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            return value.decode("ascii") if _VALID_ID.fullmatch(value) else None
    return None


def route_of(scope: Scope) -> str:
    route = scope.get("climasense.route")
    if route is not None:
        return str(route)
    # FastAPI >= 0.16x resolves included routers lazily: the prefixed template is on the
    # "effective route context" it keeps in the scope; older versions copy routes with it.
    fastapi_scope = scope.get("fastapi")
    effective = fastapi_scope.get("effective_route_context") if fastapi_scope else None
    matched = effective if effective is not None else scope.get("route")
    path = getattr(matched, "path_format", None) or getattr(matched, "path", None)
    if not path:
        return UNMATCHED
    # Inside a Mount, the route's path is relative to the mount.
    mounted = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
    return f"{mounted}{path}"


# (perf_counter() at the end, method, route, status, seconds, request_id, device_id, token_id,
# client): the wall-clock time is worked out when the entries are formatted (see `_lines`).
Entry = tuple[float, str, str, int, float, str, Any, Any, Any]


class AccessLog:
    """Buffered access entries in the process's log format (see the module docstring)."""

    def __init__(self, log_format: str = "text") -> None:
        self.json = log_format == "json"
        self.entries: list[Entry] = []
        self._second = -1
        self._prefix = ""
        # Fragments of lines that repeat: per (method, route, status) the part from the level
        # to `duration_ms`, per identifier its `device_id`/`token_id` field, per client its
        # field. Identifiers are cached by id() (holding the object, so the id stays its own):
        # a UUID's own hash is a Python-level call.
        self._pid = -1
        self._heads: dict[tuple[str, str, int], str] = {}
        self._devices: dict[int, tuple[Any, str]] = {}
        self._tokens: dict[int, tuple[Any, str]] = {}
        self._clients: dict[str, str] = {}
        # Whether the climasense.access logger takes INFO; looked at on each flush, not per
        # request.
        self.enabled = access_log.isEnabledFor(logging.INFO)

    def flush(self) -> None:
        self.enabled = access_log.isEnabledFor(logging.INFO)
        if not self.entries:
            return
        entries, self.entries = self.entries, []
        if not self.enabled:
            return
        text = self._lines(entries)
        stream = sys.stdout
        try:
            stream.write(text)
            stream.flush()
        except (OSError, ValueError):  # stdout closed (shutdown): entries are lost, not fatal
            pass

    def _lines(self, entries: list[Entry]) -> str:
        """The entries as log lines, in one string.

        Each line is glued from cached fragments (~1.9 µs of CPU an entry instead of ~3.2 µs
        with one f-string per entry, timed in-process on the 2-core bench machine): most
        entries differ only in their time, duration and request id."""
        pid = os.getpid()
        if pid != self._pid or len(self._heads) > 1000:
            self._pid = pid
            self._heads.clear()
            self._devices.clear()
            self._tokens.clear()
            self._clients.clear()
        # Entries carry perf_counter() (cheaper per request than time.time()); both clocks
        # advance together over the half second an entry waits here.
        offset = time.time() - time.perf_counter()
        heads = self._heads
        devices = self._devices
        clients = self._clients
        json = self.json
        lines: list[str] = []
        append = lines.append
        last_milli = -1
        ts = ""
        for (
            ended,
            method,
            route,
            status,
            seconds,
            request_id,
            device_id,
            token_id,
            client,
        ) in entries:
            milli = int((ended + offset) * 1000)
            if milli != last_milli:
                last_milli = milli
                ts = self._timestamp(milli)
            head = heads.get((method, route, status))
            if head is None:
                head = self._head(method, route, status, pid)
            tail = ""
            if device_id is not None:
                cached = devices.get(id(device_id))
                if cached is not None and cached[0] is device_id:
                    tail = cached[1]
                else:
                    tail = self._field(devices, "device_id", device_id)
            if token_id is not None:
                tail += self._field(self._tokens, "token_id", token_id)
            if client is not None:
                if not isinstance(client, str):
                    client = client[0]
                tail += clients.get(client) or self._client(client)
            if json:
                # Built by hand (twice as fast as a dict through orjson): every value is ours
                # or checked (route templates, an HTTP method token, UUIDs, an IP address)
                # except the client's request id, JSON-escaped when it needs to be.
                if '"' in request_id or "\\" in request_id:
                    request_id = orjson.dumps(request_id).decode()[1:-1]
                append(
                    f'{{"ts":"{ts}"{head}{seconds * 1000:.3f},"request_id":"{request_id}"{tail}}}\n'
                )
            else:
                append(f"{ts}{head}{seconds * 1000:.3f} request_id={request_id}{tail}\n")
        return "".join(lines)

    def _timestamp(self, milli: int) -> str:
        """RFC 3339 in UTC with milliseconds; the date and time part changes once a second."""
        second, fraction = divmod(milli, 1000)
        if second != self._second:
            self._second = second
            self._prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        return f"{self._prefix}.{fraction:03d}+00:00"

    def _head(self, method: str, route: str, status: int, pid: int) -> str:
        if self.json:
            head = (
                f',"level":"info","logger":"{ACCESS_LOGGER}","message":"{method} {route} '
                f'{status}","pid":{pid},"method":"{method}","route":"{route}",'
                f'"status":{status},"duration_ms":'
            )
        else:
            head = (
                f" INFO {ACCESS_LOGGER}: {method} {route} {status} method={method} "
                f"route={route} status={status} duration_ms="
            )
        self._heads[(method, route, status)] = head
        return head

    def _field(self, cache: dict[int, tuple[Any, str]], name: str, identifier: Any) -> str:
        cached = cache.get(id(identifier))
        if cached is None or cached[0] is not identifier:
            if len(cache) >= 100_000:
                cache.clear()
            text = f',"{name}":"{identifier}"' if self.json else f" {name}={identifier}"
            cached = cache[id(identifier)] = (identifier, text)
        return cached[1]

    def _client(self, client: str) -> str:
        if len(self._clients) >= 10_000:
            self._clients.clear()
        text = f',"client":"{client}"' if self.json else f" client={client}"
        self._clients[client] = text
        return text

    async def flush_forever(self, interval: float = 0.5) -> None:
        try:
            while True:
                await asyncio.sleep(interval)
                self.flush()
        finally:
            self.flush()


class RequestObserver:
    def __init__(self, app: ASGIApp, access: AccessLog | None = None) -> None:
        self.app = app
        self.access = access
        # Request ids unique across processes and restarts: 16 random hex digits drawn once
        # (the app is built in each worker process), then a decimal counter (fixed-length
        # prefix, so no two ids collide); a sixth of the cost of fresh random bytes per
        # request, and half that of a zero-padded hex counter.
        self._id_prefix = os.urandom(8).hex()
        self._ids = itertools.count(1)

    def _next_id(self) -> str:
        return self._id_prefix + str(next(self._ids))

    async def device(
        self, router: DeviceRouter, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The device API's path: the router returns a Response, so the id header goes
        straight into it, without wrapping `send` (bench/observability.py)."""
        started = time.perf_counter()
        request_id = incoming_request_id(scope["headers"]) or self._next_id()
        scope["climasense.request_id"] = request_id
        response = await router.handle(scope, receive)
        response.raw_headers.append((REQUEST_ID_HEADER, request_id.encode()))
        try:
            await response(scope, receive, send)
        finally:
            self._record(scope, request_id, response.status_code, started)

    def _record(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        ended = time.perf_counter()
        seconds = ended - started
        route = scope.get("climasense.route") or route_of(scope)
        method = scope["method"]
        metrics.observe_request(route, method, status, seconds)
        access = self.access
        if access is not None and access.enabled:
            entries = access.entries
            entries.append(
                (
                    ended,
                    method,
                    route,
                    status,
                    seconds,
                    request_id,
                    scope.get("climasense.device_id"),
                    scope.get("climasense.token_id"),
                    scope.get("climasense.client") or scope.get("client"),
                )
            )
            if len(entries) >= _MAX_BUFFERED:
                access.flush()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = incoming_request_id(scope["headers"]) or self._next_id()
        scope["climasense.request_id"] = request_id
        id_header = (REQUEST_ID_HEADER, request_id.encode())
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), id_header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self._record(scope, request_id, status, started)
