"""Per-request observation around the whole ASGI app: request id, access entry, HTTP metrics.

One wrapper serves both surfaces (the device router and FastAPI), so every response carries
`X-Request-ID` and every request gives exactly one access entry and one metrics update. The
route is the template the router matched (`/v1/ota/download/{version}`), never the raw path:
the device router names it in `scope["climasense.route"]`, FastAPI leaves its route object in
`scope["route"]`; anything unmatched is `unmatched`, so scanners cannot grow the label set.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from climasense.observability import metrics

access_log = logging.getLogger("climasense.access")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"[\x21-\x7e]{1,128}")
UNMATCHED = "unmatched"


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
    # Inside a Mount (the operator API is one), the route's path is relative to the mount.
    mounted = scope.get("root_path", "")[len(scope.get("app_root_path", "")) :]
    return f"{mounted}{path}"


class RequestObserver:
    def __init__(self, app: ASGIApp, *, access: bool = True) -> None:
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
            if self.access and access_log.isEnabledFor(logging.INFO):
                self._log(scope, request_id, route, method, status, seconds)

    @staticmethod
    def _log(
        scope: Scope, request_id: str, route: str, method: str, status: int, seconds: float
    ) -> None:
        extra: dict[str, Any] = {
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
        }
        device_id = scope.get("climasense.device_id")
        if device_id is not None:
            extra["device_id"] = str(device_id)
        token_id = scope.get("climasense.token_id")
        if token_id is not None:
            extra["token_id"] = str(token_id)
        client = scope.get("climasense.client") or scope.get("client")
        if client:
            extra["client"] = client if isinstance(client, str) else client[0]
        access_log.info("%s %s %s", method, route, status, extra=extra)
