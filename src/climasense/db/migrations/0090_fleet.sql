-- Fleet operations (CONTRACT §11): tags and a label per device, bulk jobs, targeted and
-- percentage releases.

-- Tags: a set of short names (validated by the API: ≤ 32, `[a-z0-9][a-z0-9_.:-]{0,62}`);
-- the GIN index serves `tag=` filters and selectors (`@>` for tags_all, `&&` for tags_any).
ALTER TABLE devices ADD COLUMN tags text[] NOT NULL DEFAULT '{}'
    CHECK (cardinality(tags) <= 32);
ALTER TABLE devices ADD COLUMN label text CHECK (char_length(label) <= 100);
CREATE INDEX devices_tags_idx ON devices USING gin (tags);
CREATE INDEX devices_label_idx ON devices (label) WHERE label IS NOT NULL;

-- A job is a command or a settings change sent to the devices a selector matched when it was
-- created. Its target set is its commands (one per device, inserted in the creating
-- transaction), so devices added later are never included; progress is counted from them.
CREATE TABLE jobs (
    job_id         uuid PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('command', 'settings')),
    selector       jsonb NOT NULL,
    command_type   text,
    payload        jsonb,
    settings_patch jsonb,
    ttl_seconds    integer NOT NULL,
    target_count   integer NOT NULL,
    cancelled      boolean NOT NULL DEFAULT false,
    created_at     timestamptz NOT NULL DEFAULT now(),
    cancelled_at   timestamptz
);
CREATE INDEX jobs_created_idx ON jobs (created_at, job_id);

ALTER TABLE commands ADD COLUMN job_id uuid REFERENCES jobs (job_id);
CREATE INDEX commands_job_idx ON commands (job_id, status) WHERE job_id IS NOT NULL;

-- Releases: a selector (besides or instead of batches) and a percentage of the matching devices.
ALTER TABLE firmware_releases DROP CONSTRAINT firmware_releases_batches_check;
ALTER TABLE firmware_releases ADD COLUMN selector jsonb;
ALTER TABLE firmware_releases ADD COLUMN percentage smallint NOT NULL DEFAULT 100
    CHECK (percentage BETWEEN 1 AND 100);
ALTER TABLE firmware_releases ADD CONSTRAINT firmware_releases_target_check
    CHECK (cardinality(batches) > 0 OR selector IS NOT NULL);

-- The device's rollout bucket 0..99: the first 4 bytes of sha256(device id) as an unsigned
-- integer, mod 100. Release-independent, so a percentage picks the same devices for every
-- release (the canaries stay the canaries) and widening only adds devices.
-- Mirrored in climasense.devices.selectors.rollout_bucket.
CREATE FUNCTION device_rollout_bucket(device uuid) RETURNS integer
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT (('x' || substr(encode(sha256(uuid_send(device)), 'hex'), 1, 8))::bit(32)::bigint
                  % 100)::integer $$;
