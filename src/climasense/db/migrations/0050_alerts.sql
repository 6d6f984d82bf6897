-- Alert rules, per-series evaluation state and alerts (CONTRACT §6). Rules are never updated
-- in a way that leaves stale state behind: a change resets the rule's series state, and a
-- deleted rule is kept (soft delete) so its alerts still name it.

CREATE TABLE alert_rules (
    rule_id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL,
    kind            text NOT NULL DEFAULT 'threshold' CHECK (kind IN ('threshold', 'device_offline')),
    sensor_type     smallint REFERENCES sensor_types (code),
    op              text CHECK (op IN ('>', '>=', '<', '<=', '==', '!=')),
    threshold       double precision,
    clear_threshold double precision,
    for_seconds     integer NOT NULL DEFAULT 0 CHECK (for_seconds >= 0),
    severity        text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    batch           text,
    device_id       uuid,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    deleted_at      timestamptz,
    CHECK (kind = 'device_offline' OR (sensor_type IS NOT NULL AND op IS NOT NULL AND threshold IS NOT NULL))
);

CREATE INDEX alert_rules_live_idx ON alert_rules (created_at, rule_id) WHERE deleted_at IS NULL;

-- Bumped in the transaction of every rule change; evaluators reload their rules when it moves.
CREATE TABLE alert_rules_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint NOT NULL
);
INSERT INTO alert_rules_version (version) VALUES (1);

-- What the evaluator knows about one (rule, subject) series, as of the newest reading it has
-- evaluated: `last_fail_ts` is the newest reading that did not satisfy the condition and
-- `run_start` the oldest reading after it (NULL when the newest reading does not satisfy it),
-- so "held continuously for for_seconds" is `last_ts - run_start >= for_seconds`.
CREATE TABLE alert_series (
    subject_id   uuid NOT NULL,
    rule_id      uuid NOT NULL REFERENCES alert_rules (rule_id) ON DELETE CASCADE,
    last_ts      timestamptz NOT NULL,
    last_value   double precision NOT NULL,
    last_fail_ts timestamptz,
    run_start    timestamptz,
    PRIMARY KEY (subject_id, rule_id)
);

-- `subject_id` is the device that took the readings (a standalone device, a hub, or a Zigbee
-- sensor); `device_id`/`sensor_id` are what operators see: for a hub's sensor, the hub and the
-- sensor, otherwise the device and NULL.
CREATE TABLE alerts (
    alert_id        uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    rule_id         uuid NOT NULL REFERENCES alert_rules (rule_id),
    subject_id      uuid NOT NULL,
    device_id       uuid NOT NULL,
    sensor_id       uuid,
    sensor_type     smallint REFERENCES sensor_types (code),
    severity        text NOT NULL,
    state           text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at       timestamptz NOT NULL,
    resolved_at     timestamptz,
    acknowledged_at timestamptz,
    value           double precision,
    resolved_value  double precision,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- At most one unresolved (open or acknowledged) alert per (rule, subject): the last line of
-- defence behind the evaluator's per-shard exclusivity.
CREATE UNIQUE INDEX alerts_one_unresolved_idx ON alerts (rule_id, subject_id)
    WHERE state <> 'resolved';
CREATE INDEX alerts_unresolved_subject_idx ON alerts (subject_id) WHERE state <> 'resolved';
CREATE INDEX alerts_list_idx ON alerts (opened_at DESC, alert_id DESC);
CREATE INDEX alerts_state_list_idx ON alerts (state, opened_at DESC, alert_id DESC);
CREATE INDEX alerts_device_list_idx ON alerts (device_id, opened_at DESC, alert_id DESC);
CREATE INDEX alerts_sensor_idx ON alerts (sensor_id) WHERE sensor_id IS NOT NULL;

-- Default rules (editable and deletable like any other).
INSERT INTO alert_rules (name, kind, sensor_type, op, threshold, for_seconds, severity) VALUES
    ('Shore power lost', 'threshold', 4, '==', 0, 0, 'critical'),
    ('Battery low', 'threshold', 5, '<', 20, 0, 'warning'),
    ('Humidity above 80 % for 30 minutes', 'threshold', 2, '>', 80, 1800, 'warning'),
    ('Device offline', 'device_offline', NULL, NULL, NULL, 0, 'warning');
