"""`GET /healthz`: 200 when the database answers, else 503 (no authentication)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from climasense.errors import Unavailable

router = APIRouter()


@router.get("/healthz", tags=["health"], summary="Liveness and database reachability")
async def healthz(request: Request) -> dict[str, str]:
    pool = request.app.state.services.pool
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), timeout=2)
    except (OSError, TimeoutError, Exception) as exc:
        raise Unavailable("Database unreachable") from exc
    return {"status": "ok"}
