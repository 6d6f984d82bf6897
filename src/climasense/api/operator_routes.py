"""Gathers every domain's operator routes under `/admin/v1`, all behind an admin token."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from climasense.alerts.operator_routes import router as alerts_router
from climasense.audit.operator_routes import router as audit_router
from climasense.commands.operator_routes import router as commands_router
from climasense.device_settings.operator_routes import router as settings_router
from climasense.devices.operator_routes import router as devices_router
from climasense.http.operator_deps import require_admin
from climasense.http.routing import JSONRoute
from climasense.jobs.operator_routes import router as jobs_router
from climasense.openapi_operator import operation_id
from climasense.ota.operator_routes import router as firmware_router
from climasense.telemetry.operator_routes import router as telemetry_router
from climasense.tokens.operator_routes import router as tokens_router
from climasense.webhooks.operator_routes import router as webhooks_router


def build_admin_router() -> APIRouter:
    router = APIRouter(
        prefix="/admin/v1",
        dependencies=[Depends(require_admin)],
        route_class=JSONRoute,
        generate_unique_id_function=operation_id,  # readable operationIds (openapi_operator)
    )
    router.include_router(devices_router)
    router.include_router(settings_router)
    router.include_router(commands_router)
    router.include_router(firmware_router)
    router.include_router(telemetry_router)
    router.include_router(alerts_router)
    router.include_router(webhooks_router)
    router.include_router(tokens_router)
    router.include_router(audit_router)
    router.include_router(jobs_router)
    return router
