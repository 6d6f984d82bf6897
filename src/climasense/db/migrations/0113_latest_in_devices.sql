-- The latest value of each sensor of a device moves into the device's row: `latest_ts[c]` and
-- `latest_values[c]` hold the newest reading of sensor type code `c` (NULL: none yet).
-- Ingest already updates every reporting device's row (last seen, position) in each group
-- commit; the latest values now ride on that one update instead of an upsert per device and
-- sensor type into `latest_readings` (a speculative insertion, a row lock and a new row version
-- each; docs/performance.md, issue 20 round 9). Readers use the view `device_latest_readings`,
-- one row per device and sensor type as the table had.
--
-- The table `latest_readings` stays, no longer read: during a rolling upgrade the API processes
-- of the previous release still write it (their statement would fail on a view), and their
-- groups leave the new columns as they were until the device's next report reaches a process
-- of this release. A later migration drops it.
ALTER TABLE devices
    ADD COLUMN latest_ts timestamptz[] NOT NULL DEFAULT '{}',
    ADD COLUMN latest_values double precision[] NOT NULL DEFAULT '{}';

UPDATE devices d
SET latest_ts = l.ts, latest_values = l.vals
FROM (
    SELECT k.device_id,
           array_agg(r.ts ORDER BY c.code) AS ts, array_agg(r.value ORDER BY c.code) AS vals
    FROM (SELECT DISTINCT device_id FROM latest_readings) k
    CROSS JOIN generate_series(1, (SELECT max(code) FROM sensor_types)) AS c(code)
    LEFT JOIN latest_readings r ON r.device_id = k.device_id AND r.sensor_type = c.code
    GROUP BY k.device_id
) l
WHERE d.device_id = l.device_id;

CREATE VIEW device_latest_readings AS
SELECT d.device_id, u.sensor_type::smallint AS sensor_type, u.ts, u.value
FROM devices d
CROSS JOIN LATERAL unnest(d.latest_ts, d.latest_values) WITH ORDINALITY AS u(ts, value, sensor_type)
WHERE u.ts IS NOT NULL;
