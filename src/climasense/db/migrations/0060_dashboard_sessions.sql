-- Dashboard sign-in sessions. The cookie holds a random session id; only its HMAC is stored,
-- so a database read does not yield a usable cookie. A session belongs to the admin token the
-- operator signed in with: revoking the token (or deleting it) ends its sessions, and signing
-- out deletes the row, so a copied cookie stops working at once.
CREATE TABLE dashboard_sessions (
    session_hash bytea PRIMARY KEY,
    token_id     uuid NOT NULL REFERENCES admin_tokens (token_id) ON DELETE CASCADE,
    -- Synchronizer token every state-changing form and fetch of this session must echo.
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

CREATE INDEX dashboard_sessions_expiry_idx ON dashboard_sessions (expires_at);
CREATE INDEX dashboard_sessions_token_idx ON dashboard_sessions (token_id);
