"""The device API's lean router.

`/v1/*` is the hot path (every device, every minute), so it does not go through FastAPI's
dependency injection and middleware: a dispatcher sends `/v1/` requests to this router, which
matches the path, authenticates the key (cached), applies the rate limit and calls the
handler. Every authenticated answer, errors included, carries the RateLimit headers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from climasense.errors import ClimaSenseError, Forbidden, NotFound, RateLimited
from climasense.http.body import check_declared_length, declares_body
from climasense.http.device_route import DeviceRoute
from climasense.http.errors import exception_to_response
from climasense.http.protocol_errors import MethodNotAllowed
from climasense.http.responses import error_response
from climasense.http.security_headers import add_security_headers
from climasense.limits.headers import rate_limit_headers
from climasense.observability import metrics

if TYPE_CHECKING:
    from climasense.services import Services


def _compile(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path)
    return re.compile(f"^{pattern}$")


class DeviceRouter:
    def __init__(self, services: Services, routes: list[DeviceRoute]) -> None:
        self.services = services
        self._static: dict[str, dict[str, DeviceRoute]] = {}
        self._dynamic: list[tuple[re.Pattern[str], dict[str, DeviceRoute]]] = []
        for route in routes:
            if "{" in route.path:
                pattern = _compile(route.path)
                for existing, methods in self._dynamic:
                    if existing.pattern == pattern.pattern:
                        methods[route.method] = route
                        break
                else:
                    self._dynamic.append((pattern, {route.method: route}))
            else:
                self._static.setdefault(route.path, {})[route.method] = route

    def match(self, path: str) -> tuple[dict[str, DeviceRoute], dict[str, str]] | None:
        methods = self._static.get(path)
        if methods is not None:
            return methods, {}
        for pattern, methods in self._dynamic:
            found = pattern.match(path)
            if found:
                return methods, found.groupdict()
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.handle(scope, receive)
        await response(scope, receive, send)

    async def handle(self, scope: Scope, receive: Receive) -> Response:
        """The answer to a device request, security headers (CONTRACT §8) included: the app
        does not wrap `send` for the device API."""
        response = await self._answer(scope, receive)
        add_security_headers(response.raw_headers, operator=False)
        return response

    async def _answer(self, scope: Scope, receive: Receive) -> Response:
        matched = self.match(scope["path"])
        if matched is None:
            return error_response(NotFound())
        methods, params = matched
        method = scope["method"]
        route = methods.get(method) or (methods.get("GET") if method == "HEAD" else None)
        if route is None:
            allow = ", ".join(sorted(methods))
            return error_response(MethodNotAllowed(), headers={"Allow": allow})
        scope["path_params"] = params
        scope["climasense.route"] = route.path  # the access log's and metrics' route
        scope["climasense.services"] = self.services
        request = Request(scope, receive)
        services = self.services
        headers: dict[str, str] = {}
        try:
            device = await services.authenticator.device_for_request(request)
            scope["climasense.device_id"] = device.device_id
            rule_name = route.limit if route.limit in services.settings.rate_limits else "default"
            rule = services.settings.rate_limits[rule_name]
            decision = await services.rate_limiter.hit(f"{device.device_id}:{rule_name}", rule)
            headers = rate_limit_headers(rule_name, decision)
            if not decision.allowed:
                metrics.rate_limited(rule_name)
                raise RateLimited(
                    f"Too many requests to {route.label}; retry in {decision.retry_after} s",
                    headers={"Retry-After": str(decision.retry_after)},
                )
            if device.kind == "zigbee_sensor":
                raise Forbidden("A Zigbee sensor key cannot call the device API; its hub does")
            if route.hub_only and not device.is_hub:
                raise Forbidden("Only hub devices can call this endpoint")
            check_declared_length(request, services.settings.device_body_limit)
            response = await route.handler(request, device)
        except ClimaSenseError as exc:
            response = error_response(exc, headers=headers)
            if _body_unread(request) or (exc.status == 413 and declares_body(request.headers)):
                # Answered before the body was read (401, 413, …): close the connection
                # rather than receive and discard the rest of it (CONTRACT §8).
                response.headers["Connection"] = "close"
            return response
        except Exception as exc:
            response = exception_to_response(exc)
        response.headers.update(headers)
        return response


def _body_unread(request: Request) -> bool:
    return declares_body(request.headers) and not getattr(request, "_stream_consumed", False)
