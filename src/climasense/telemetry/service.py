"""Ingest rules: validate a batch, check hub sensors, commit through the writer, report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from climasense.auth.principals import DevicePrincipal
from climasense.http.responses import utc_now
from climasense.observability import metrics
from climasense.telemetry import repository
from climasense.telemetry.validation import Rejection, TimeWindow, ValidatedBatch, decode_batch

if TYPE_CHECKING:
    from climasense.services import Services


# Not frozen: this is built once per ingest request, and a frozen dataclass's __init__ (each
# field through object.__setattr__) cost ~3x a plain slots one.
@dataclass(slots=True)
class Ingested:
    """What became of a batch: readings stored, rejected (each with why) and already stored."""

    accepted: int
    duplicates: int
    errors: list[Rejection]
    timestamp: datetime

    def to_json(self) -> dict[str, Any]:
        """The body of `POST /v1/telemetry` (202), built at the device route."""
        return {
            "accepted": self.accepted,
            "rejected": len(self.errors),
            "duplicates": self.duplicates,
            "errors": [
                {"index": e.index, "error": e.error, "message": e.message} for e in self.errors
            ],
            "timestamp": self.timestamp,
        }


async def ingest(services: Services, device: DevicePrincipal, raw: bytes) -> Ingested:
    """Store the valid readings of a batch."""
    settings = services.settings
    window = TimeWindow.around(
        utc_now(),
        timedelta(days=settings.backfill_days),
        timedelta(seconds=settings.future_tolerance_seconds),
    )
    batch = decode_batch(raw, window, is_hub=device.is_hub)
    if device.is_hub:
        await _reject_foreign_sensors(services, device, batch)
    duplicates = await services.ingest.submit(device.device_id, batch)
    metrics.readings(len(batch.indexes), len(batch.errors), duplicates)
    return Ingested(
        accepted=len(batch.indexes),
        duplicates=duplicates,
        errors=batch.errors,
        timestamp=utc_now(),
    )


async def _reject_foreign_sensors(
    services: Services, hub: DevicePrincipal, batch: ValidatedBatch
) -> None:
    """A hub may only submit readings for sensors paired to it (CONTRACT §4.5)."""
    named = {s for s in batch.sensor_ids if s is not None}
    if not named:
        return
    paired = await repository.registered_sensors(services.pool, hub.device_id, sorted(named))
    if paired == named:
        return
    keep = []
    for index, sensor_id in zip(batch.indexes, batch.sensor_ids, strict=True):
        ok = sensor_id is None or sensor_id in paired
        keep.append(ok)
        if not ok:
            batch.reject(
                index, "unknown_sensor", f"sensor {sensor_id} is not registered to this hub"
            )
    batch.keep_only(keep)
