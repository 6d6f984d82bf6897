-- Devices, their credentials and operator tokens.

CREATE SEQUENCE device_serial_seq;

CREATE TABLE devices (
    device_id        uuid PRIMARY KEY,
    serial_number    text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN ('standalone', 'hub', 'zigbee_sensor')),
    model            text NOT NULL,
    batch            text NOT NULL,
    status           text NOT NULL DEFAULT 'active'
                     CHECK (status IN ('active', 'revoked', 'decommissioned')),
    -- HMAC-SHA-256 of the current API key under the server secret; NULL once revoked.
    key_hash         bytea UNIQUE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz,
    last_seen_at     timestamptz,
    latitude         double precision,
    longitude        double precision,
    position_at      timestamptz,
    firmware_version text,
    -- Zigbee sensors: the hub they are paired to (NULL when unpaired).
    hub_id           uuid REFERENCES devices (device_id),
    ieee_address     text,
    paired_at        timestamptz
);

CREATE INDEX devices_created_idx ON devices (created_at, serial_number);
CREATE INDEX devices_batch_idx ON devices (batch, created_at, serial_number);
CREATE INDEX devices_kind_idx ON devices (kind, created_at, serial_number);
CREATE INDEX devices_hub_idx ON devices (hub_id) WHERE hub_id IS NOT NULL;

CREATE TABLE admin_tokens (
    token_id    uuid PRIMARY KEY,
    name        text NOT NULL,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- Every key hash that stopped being valid, in order: each API process polls this feed and
-- drops those hashes from its in-process credential cache (revocation within seconds).
CREATE TABLE credential_events (
    event_id    bigserial PRIMARY KEY,
    key_hash    bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
