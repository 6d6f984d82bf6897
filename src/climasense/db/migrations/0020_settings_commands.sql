-- Settings defaults per hardware model, the settings version a device reports as applied, and
-- the command queue of CONTRACT §4.3.

-- Defaults a newly provisioned device of this model starts with; a NULL column falls back to the
-- built-in default (300 s, the kind's sensors, no location, UTC).
CREATE TABLE model_settings_defaults (
    model                      text PRIMARY KEY,
    reporting_interval_seconds integer CHECK (reporting_interval_seconds BETWEEN 60 AND 3600),
    enabled_sensors            text[],
    location                   jsonb,
    timezone                   text,
    updated_at                 timestamptz NOT NULL DEFAULT now()
);

-- The settings version the device last acknowledged applying (a config_update ack, or its own
-- PATCH); NULL until it has done either.
ALTER TABLE device_settings ADD COLUMN applied_version integer;

CREATE TABLE commands (
    command_id       uuid PRIMARY KEY,
    -- Creation order (created_at is the transaction's time, equal within one transaction).
    seq              bigint GENERATED ALWAYS AS IDENTITY,
    device_id        uuid NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    type             text NOT NULL
                     CHECK (type IN ('reboot', 'config_update', 'factory_reset', 'diagnostics')),
    payload          jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- pending: never fetched; delivered: fetched at least once, not yet answered. Both are
    -- "live" (returned by GET /v1/commands/pending) while expires_at is in the future.
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'acked', 'failed', 'expired',
                                       'cancelled')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    expires_at       timestamptz NOT NULL,
    delivered_at     timestamptz,
    acked_at         timestamptz,
    failed_at        timestamptz,
    cancelled_at     timestamptz,
    -- 'operator' (cancel endpoint) or 'superseded' (a newer settings change replaced it).
    cancel_reason    text CHECK (cancel_reason IN ('operator', 'superseded')),
    superseded_by    uuid,
    -- config_update: the settings version its payload carries.
    settings_version integer,
    result           jsonb,
    error_message    text
);

-- The device's poll: live commands, oldest first. Partial, so it stays small.
CREATE INDEX commands_live_idx ON commands (device_id, seq)
    WHERE status IN ('pending', 'delivered');
-- The expiry job.
CREATE INDEX commands_expiry_idx ON commands (expires_at)
    WHERE status IN ('pending', 'delivered');
-- Operator history, newest first.
CREATE INDEX commands_history_idx ON commands (device_id, seq);
