"""The alert outbox as ingest fills it: the alert system owns its shape and its sharding.

Telemetry's ingest statement (`telemetry.repository.ingest_statement`) composes `OUTBOX_CTE`
into the one statement that stores a group of readings, so the outbox rows of exactly the
readings it inserted (CTE `ins`) commit with them. A device's shard is the low bits of
`hashtext(device_id::text)`: `SHARD_COUNT` (alerts.shards) must be a power of two.
"""

from __future__ import annotations

from climasense.alerts.shards import SHARD_COUNT

if SHARD_COUNT <= 0 or SHARD_COUNT & (SHARD_COUNT - 1):
    raise ValueError(f"SHARD_COUNT must be a power of two, not {SHARD_COUNT}")

SHARD_MASK = SHARD_COUNT - 1


def shard_expression(device_id_sql: str) -> str:
    """SQL for the outbox shard of the device id `device_id_sql` (an SQL expression)."""
    return f"hashtext({device_id_sql}::text) & {SHARD_MASK}"


# A data-modifying CTE over `ins` (device_id, sensor_type, ts, value: the newly inserted
# readings): one outbox row per device, its readings in time order.
# The three arrays list a device's readings in one order (one aggregate node feeds them the
# same rows), but not in time order: the evaluator orders each series' readings itself
# (`evaluation.evaluate`: readings of several outbox rows are merged anyway), and an
# `array_agg(… ORDER BY …)` is a sort per device per array — about 2 µs of PostgreSQL's CPU per
# reading together (docs/performance.md, round 5).
OUTBOX_CTE = f"""outbox AS (
    INSERT INTO alert_outbox (device_id, shard, sensor_types, timestamps, "values")
    SELECT device_id, {shard_expression("device_id")},
           array_agg(sensor_type), array_agg(ts), array_agg(value)
    FROM ins GROUP BY device_id
)"""
