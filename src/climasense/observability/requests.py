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
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from climasense.observability import metrics

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


# (time, method, route, status, seconds, request_id, device_id, token_id, client)
Entry = tuple[float, str, str, int, float, str, Any, Any, Any]


class AccessLog:
    """Buffered access entries in the process's log format (see the module docstring)."""

    def __init__(self, log_format: str = "text") -> None:
        self.json = log_format == "json"
        self.entries: list[Entry] = []
        self.pid = os.getpid()

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        if len(self.entries) >= _MAX_BUFFERED:
            self.flush()

    def flush(self) -> None:
        if not self.entries:
            return
        entries, self.entries = self.entries, []
        pid = os.getpid()
        lines = [self._format(entry, pid) for entry in entries]
        stream = sys.stdout
        try:
            stream.write("".join(lines))
            stream.flush()
        except (OSError, ValueError):  # stdout closed (shutdown): entries are lost, not fatal
            pass

    def _format(self, entry: Entry, pid: int) -> str:
        at, method, route, status, seconds, request_id, device_id, token_id, client = entry
        ts = datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds")
        fields: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
        }
        if device_id is not None:
            fields["device_id"] = str(device_id)
        if token_id is not None:
            fields["token_id"] = str(token_id)
        if client is not None:
            fields["client"] = client if isinstance(client, str) else client[0]
        message = f"{method} {route} {status}"
        if self.json:
            head = {"ts": ts, "level": "info", "logger": ACCESS_LOGGER, "message": message}
            return orjson.dumps({**head, "pid": pid, **fields}).decode() + "\n"
        pairs = " ".join(f"{key}={value}" for key, value in fields.items())
        return f"{ts} INFO {ACCESS_LOGGER}: {message} {pairs}\n"

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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = incoming_request_id(scope["headers"]) or os.urandom(16).hex()
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
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = scope["method"]
            metrics.observe_request(route, method, status, seconds)
            access = self.access
            if access is not None and access_log.isEnabledFor(logging.INFO):
                access.add(
                    (
                        time.time(),
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
