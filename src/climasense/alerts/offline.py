"""The built-in `device_offline` rule: a periodic, set-based sweep over the fleet.

A device is offline when it has reported before and its `last_seen_at` is older than three of
its reporting intervals. One statement opens an alert for every offline device a live
`device_offline` rule covers (skipping those with one unresolved); another resolves offline
alerts of devices that are back (the evaluator resolves them at the first reading already;
this catches the race where a reading commits while a sweep is deciding). Both read `devices`
and `device_settings` in one pass: a sequential scan of 100k devices costs milliseconds every
sweep, cheaper than an index on `last_seen_at` that every ingest commit would have to update.
"""

from __future__ import annotations

import asyncpg

from climasense.alerts import rule_repository
from climasense.alerts.notify import enqueue_alert_events
from climasense.services import Services

_SILENT_FOR_TOO_LONG = """
    d.last_seen_at < now() - make_interval(secs => 3 * coalesce(s.reporting_interval_seconds, 300))
"""

_OPEN = f"""
    WITH offline_rules AS (
        SELECT rule_id, severity, batch, device_id AS scope_device_id
        FROM alert_rules WHERE kind = 'device_offline' AND deleted_at IS NULL
    ), silent AS (
        SELECT d.device_id, d.kind, d.hub_id, d.batch, h.batch AS hub_batch, d.last_seen_at
        FROM devices d
        LEFT JOIN device_settings s USING (device_id)
        LEFT JOIN devices h ON h.device_id = d.hub_id
        WHERE d.status = 'active' AND d.last_seen_at IS NOT NULL
          AND (d.kind <> 'zigbee_sensor' OR d.hub_id IS NOT NULL)
          AND {_SILENT_FOR_TOO_LONG}
    )
    INSERT INTO alerts (rule_id, subject_id, device_id, sensor_id, sensor_type, severity, state,
                        opened_at, value)
    SELECT r.rule_id, d.device_id,
           CASE WHEN d.kind = 'zigbee_sensor' THEN d.hub_id ELSE d.device_id END,
           CASE WHEN d.kind = 'zigbee_sensor' THEN d.device_id END,
           NULL, r.severity, 'open', now(),
           round(extract(epoch FROM now() - d.last_seen_at))
    FROM silent d JOIN offline_rules r
      ON (r.batch IS NULL OR r.batch IN (d.batch, d.hub_batch))
     AND (r.scope_device_id IS NULL OR r.scope_device_id IN (d.device_id, d.hub_id))
    WHERE NOT EXISTS (SELECT 1 FROM alerts a
                      WHERE a.rule_id = r.rule_id AND a.subject_id = d.device_id
                        AND a.state <> 'resolved')
    ON CONFLICT (rule_id, subject_id) WHERE state <> 'resolved' DO NOTHING
    RETURNING alert_id
"""

_RESOLVE_RETURNED = f"""
    UPDATE alerts a SET state = 'resolved', resolved_at = coalesce(d.last_seen_at, now()),
                        updated_at = clock_timestamp()
    FROM alert_rules r, devices d LEFT JOIN device_settings s USING (device_id)
    WHERE r.rule_id = a.rule_id AND r.kind = 'device_offline' AND a.state <> 'resolved'
      AND d.device_id = a.subject_id
      AND (d.status <> 'active' OR NOT ({_SILENT_FOR_TOO_LONG}))
    RETURNING a.alert_id
"""


async def sweep(conn: asyncpg.Connection) -> tuple[int, int]:
    """One sweep (inside the caller's transaction); returns (opened, resolved)."""
    await rule_repository.lock_shared(conn)
    resolved = [r["alert_id"] for r in await conn.fetch(_RESOLVE_RETURNED)]
    opened = [r["alert_id"] for r in await conn.fetch(_OPEN)]
    await enqueue_alert_events(
        conn, [("alert.resolved", a) for a in resolved] + [("alert.opened", a) for a in opened]
    )
    return len(opened), len(resolved)


async def run_sweep(_: Services, conn: asyncpg.Connection) -> None:
    await sweep(conn)
