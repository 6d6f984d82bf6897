"""Helpers for telemetry tests: batches, hub pairing, and reading back what was stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx

from climasense.services import Services
from tests.support.factories import bearer


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def minutes_ago(minutes: float, base: datetime | None = None) -> str:
    base = base or datetime.now(UTC).replace(microsecond=0)
    return iso(base - timedelta(minutes=minutes))


def reading(sensor_type: str = "temperature", value: float = 21.5, **extra: Any) -> dict[str, Any]:
    extra.setdefault("timestamp", minutes_ago(1))
    return {"sensor_type": sensor_type, "value": value, **extra}


async def post_batch(
    client: httpx.AsyncClient, key: str, body: Any, **headers: str
) -> httpx.Response:
    return await client.post("/v1/telemetry", json=body, headers={**bearer(key), **headers})


async def pair_sensor(services: Services, hub_id: str, sensor_id: str) -> None:
    # Stands in for `POST /v1/hub/sensors` (the hub capability): the state a pairing leaves.
    await services.pool.execute(
        "UPDATE devices SET hub_id = $1, paired_at = now() WHERE device_id = $2",
        UUID(hub_id),
        UUID(sensor_id),
    )


async def stored(services: Services, device_id: str | UUID) -> list[dict[str, Any]]:
    rows = await services.pool.fetch(
        "SELECT sensor_type, ts, value, hub_id FROM readings WHERE device_id = $1 ORDER BY ts, sensor_type",
        UUID(str(device_id)),
    )
    return [dict(r.items()) for r in rows]


async def outbox(services: Services, device_id: str | UUID) -> list[dict[str, Any]]:
    rows = await services.pool.fetch(
        """SELECT shard, sensor_types, timestamps, "values" FROM alert_outbox
           WHERE device_id = $1 ORDER BY outbox_id""",
        UUID(str(device_id)),
    )
    return [dict(r.items()) for r in rows]
