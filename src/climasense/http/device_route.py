"""How a domain declares a device (`/v1`) route; `api.device_router` matches and runs them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from climasense.auth.principals import DevicePrincipal

if TYPE_CHECKING:
    from climasense.services import Services

DeviceHandler = Callable[[Request, DevicePrincipal], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class DeviceRoute:
    method: str
    path: str
    handler: DeviceHandler
    limit: str = "default"  # key into Settings.rate_limits
    hub_only: bool = False
    operation: str = field(default="")

    @property
    def label(self) -> str:
        return self.operation or f"{self.method} {self.path}"


def services_of(request: Request) -> Services:
    """The process's services, for a device handler."""
    services: Services = request.scope["climasense.services"]
    return services
