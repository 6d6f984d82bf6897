-- Per-device settings (the document of CONTRACT §4.2) and the latest value of each sensor,
-- kept by ingest so operators and the dashboard read it without touching `readings`.

CREATE TABLE device_settings (
    device_id                  uuid PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE,
    reporting_interval_seconds integer NOT NULL DEFAULT 300
                               CHECK (reporting_interval_seconds BETWEEN 60 AND 3600),
    enabled_sensors            text[] NOT NULL,
    location                   jsonb,
    timezone                   text NOT NULL DEFAULT 'UTC',
    version                    integer NOT NULL DEFAULT 1,
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE latest_readings (
    device_id    uuid NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    sensor_type  smallint NOT NULL,
    ts           timestamptz NOT NULL,
    value        double precision NOT NULL,
    PRIMARY KEY (device_id, sensor_type)
);
