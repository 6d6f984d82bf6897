"""Every `/v1` route, gathered from the domains (the device API of CONTRACT §4)."""

from __future__ import annotations

from climasense.device_settings.routes import DEVICE_ROUTES as SETTINGS_ROUTES
from climasense.http.device_api import DeviceRoute
from climasense.ota.routes import DEVICE_ROUTES as OTA_ROUTES


def device_routes() -> list[DeviceRoute]:
    return [*SETTINGS_ROUTES, *OTA_ROUTES]
