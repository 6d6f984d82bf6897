-- Readings committed by ingest and not yet evaluated for alerts. Ingest writes one row per
-- device (subject) per commit, holding the readings it newly stored (duplicates excluded), in
-- the same transaction as the readings themselves; the alert worker deletes the rows it has
-- evaluated in the same transaction as the alert changes they cause. So every stored reading
-- is evaluated exactly once, even across crashes.
CREATE TABLE alert_outbox (
    outbox_id    bigserial PRIMARY KEY,
    device_id    uuid NOT NULL,
    -- Which evaluator shard owns this device: hashtext(device_id::text) & 63 (the low six bits;
    -- abs() would overflow on -2^31), fixed at write.
    shard        smallint NOT NULL,
    sensor_types smallint[] NOT NULL,
    timestamps   timestamptz[] NOT NULL,
    "values"     double precision[] NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX alert_outbox_shard_idx ON alert_outbox (shard, outbox_id);
