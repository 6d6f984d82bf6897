-- Webhooks and their deliveries. A delivery row is written in the same transaction as the
-- alert change it announces; the sender claims due rows with a lease, so a crash mid-send
-- retries (at least once; receivers dedupe on X-ClimaSense-Delivery).

CREATE TABLE webhooks (
    webhook_id  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    url         text NOT NULL,
    -- Kept as given: signing needs it. Never returned by the API.
    secret      text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    deleted_at  timestamptz
);

CREATE TABLE webhook_deliveries (
    delivery_id     bigserial PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (webhook_id),
    alert_id        uuid NOT NULL,
    event_type      text NOT NULL CHECK (event_type IN ('alert.opened', 'alert.resolved')),
    -- The alert as it was when the event happened (state open for alert.opened, …).
    alert           jsonb NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'delivered', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    last_status     integer,
    last_error      text,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, delivery_id DESC);

CREATE TABLE webhook_attempts (
    delivery_id  bigint NOT NULL REFERENCES webhook_deliveries (delivery_id) ON DELETE CASCADE,
    attempt      integer NOT NULL,
    attempted_at timestamptz NOT NULL DEFAULT now(),
    status_code  integer,
    error        text,
    duration_ms  double precision NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);
