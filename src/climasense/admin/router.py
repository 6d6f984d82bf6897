"""Gathers every domain's operator routes under `/admin/v1`, all behind an admin token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from climasense.admin.deps import require_admin
from climasense.alerts.routes import router as alerts_router
from climasense.commands.admin_routes import router as commands_router
from climasense.device_settings.admin_routes import router as settings_router
from climasense.devices.routes import router as devices_router
from climasense.http.routing import JSONRoute
from climasense.jobs.operator_routes import router as jobs_router
from climasense.ota.admin_routes import router as firmware_router
from climasense.telemetry.admin_routes import router as telemetry_router
from climasense.webhooks.routes import router as webhooks_router


def build_admin_router() -> APIRouter:
    router = APIRouter(
        prefix="/admin/v1", dependencies=[Depends(require_admin)], route_class=JSONRoute
    )
    router.include_router(devices_router)
    router.include_router(settings_router)
    router.include_router(commands_router)
    router.include_router(firmware_router)
    router.include_router(telemetry_router)
    router.include_router(alerts_router)
    router.include_router(webhooks_router)
    router.include_router(jobs_router)
    return router
