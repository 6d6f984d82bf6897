"""Every `/v1` route, gathered from the domains (the device API of CONTRACT §4)."""

from __future__ import annotations

from climasense.device_settings.routes import DEVICE_ROUTES as SETTINGS_ROUTES
from climasense.http.device_api import DeviceRoute
from climasense.telemetry.routes import DEVICE_ROUTES as TELEMETRY_ROUTES


def device_routes() -> list[DeviceRoute]:
    return [*SETTINGS_ROUTES, *TELEMETRY_ROUTES]
