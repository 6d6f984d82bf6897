"""Every `/v1` route, gathered from the domains (the device API of CONTRACT §4)."""

from __future__ import annotations

from climasense.commands.device_routes import DEVICE_ROUTES as COMMAND_ROUTES
from climasense.device_settings.device_routes import DEVICE_ROUTES as SETTINGS_ROUTES
from climasense.http.device_route import DeviceRoute
from climasense.hub.device_routes import DEVICE_ROUTES as HUB_ROUTES
from climasense.ota.device_routes import DEVICE_ROUTES as OTA_ROUTES
from climasense.telemetry.device_routes import DEVICE_ROUTES as TELEMETRY_ROUTES


def device_routes() -> list[DeviceRoute]:
    # Telemetry first: the hottest path is matched first.
    return [*TELEMETRY_ROUTES, *SETTINGS_ROUTES, *COMMAND_ROUTES, *OTA_ROUTES, *HUB_ROUTES]
