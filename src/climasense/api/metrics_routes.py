"""`GET /metrics` on the API processes, and the small metrics server of `climasense worker`."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from climasense.errors import NotFound, Unauthorized
from climasense.http.responses import error_response
from climasense.observability import metrics

if TYPE_CHECKING:
    from climasense.services import Services

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


async def scrape(services: Services, authorization: str | None) -> Response:
    if not metrics.bearer_allowed(services.settings.metrics_token, authorization):
        metrics.auth_failure()
        return error_response(Unauthorized("Invalid or missing metrics token"))
    try:
        gauges = await metrics.database_gauges(services.pool)
    except Exception as exc:  # the scrape still shows the process series
        log.warning("metrics: database gauges unavailable (%s)", type(exc).__name__)
        gauges = {}
    return Response(metrics.render(gauges), media_type=metrics.CONTENT_TYPE)


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    services: Services = request.app.state.services
    return await scrape(services, request.headers.get("authorization"))


class WorkerMetricsApp:
    """`climasense worker --metrics-port`: `/metrics` and `/healthz`, nothing else."""

    def __init__(self, services: Services) -> None:
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/metrics":
            authorization = None
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value.decode("latin-1")
            response = await scrape(self.services, authorization)
        elif path == "/healthz":
            response = Response(b'{"status":"ok"}', media_type="application/json")
        else:
            response = error_response(NotFound())
        await response(scope, receive, send)
