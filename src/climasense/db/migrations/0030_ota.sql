-- OTA (CONTRACT §4.4): firmware images, staged releases per batch, device-reported status.

-- One image per (model, version). `precedence` is the version without build metadata: semver
-- orders 1.0.0+a and 1.0.0+b equally, so only one of them may exist per model.
CREATE TABLE firmware (
    model          text NOT NULL,
    version        text NOT NULL,
    precedence     text NOT NULL,
    blob_key       text NOT NULL,
    sha256         text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes     bigint NOT NULL CHECK (size_bytes > 0),
    release_notes  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version),
    UNIQUE (model, precedence)
);

CREATE TABLE firmware_releases (
    release_id                 uuid PRIMARY KEY,
    model                      text NOT NULL,
    version                    text NOT NULL,
    batches                    text[] NOT NULL CHECK (cardinality(batches) > 0),
    state                      text NOT NULL DEFAULT 'active'
                               CHECK (state IN ('active', 'paused', 'cancelled')),
    failure_threshold_percent  double precision NOT NULL
                               CHECK (failure_threshold_percent BETWEEN 0 AND 100),
    min_finished               integer NOT NULL CHECK (min_finished >= 1),
    pause_reason               text,
    auto_paused                boolean NOT NULL DEFAULT false,
    -- Auto-pause looks only at reports since the release was created or last resumed, so a
    -- resumed release is not paused again at once by the failures that paused it.
    evaluated_since            timestamptz NOT NULL DEFAULT now(),
    created_at                 timestamptz NOT NULL DEFAULT now(),
    updated_at                 timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (model, version) REFERENCES firmware (model, version)
);

CREATE INDEX firmware_releases_offer_idx ON firmware_releases USING gin (batches)
    WHERE state = 'active';
CREATE INDEX firmware_releases_version_idx ON firmware_releases (model, version);

-- Every report a device sent, in order (history for operators).
CREATE TABLE ota_status_reports (
    report_id         bigserial PRIMARY KEY,
    device_id         uuid NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    version           text NOT NULL,
    status            text NOT NULL,
    progress_percent  smallint,
    error_message     text,
    reported_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ota_status_reports_device_idx ON ota_status_reports (device_id, report_id);

-- The latest report per (device, version): what release counts and auto-pause read. Model
-- and batch are copied from the device (they never change) so counting a release needs no join.
CREATE TABLE ota_device_status (
    device_id         uuid NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE,
    version           text NOT NULL,
    model             text NOT NULL,
    batch             text NOT NULL,
    status            text NOT NULL CHECK (status IN
                      ('downloading', 'downloaded', 'verifying', 'applying', 'completed', 'failed')),
    progress_percent  smallint,
    error_message     text,
    -- When this attempt entered downloading…applying: a device there for longer than
    -- CLIMASENSE_OTA_STUCK_SECONDS counts as failed.
    started_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (device_id, version)
);
CREATE INDEX ota_device_status_release_idx ON ota_device_status (model, version, batch);

ALTER TABLE devices ADD COLUMN firmware_reported_at timestamptz;
