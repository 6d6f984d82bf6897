-- Operator tokens get a role and an expiry (CONTRACT §9); every operator change leaves an
-- audit entry that no interface can change or delete.

ALTER TABLE admin_tokens
    ADD COLUMN role         text NOT NULL DEFAULT 'admin'
                            CHECK (role IN ('viewer', 'operator', 'admin')),
    ADD COLUMN expires_at   timestamptz,
    -- Written at most once a minute per token and process (not on every request).
    ADD COLUMN last_used_at timestamptz;

CREATE INDEX admin_tokens_created_idx ON admin_tokens (created_at, token_id);

-- One row per operator change, written in the transaction of the change itself. The actor is
-- copied (not only referenced) so an entry still says who acted after the token is gone.
CREATE TABLE audit_entries (
    audit_id        bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_token_id  uuid,
    actor_name      text NOT NULL,
    actor_role      text NOT NULL,
    action          text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
    target_type     text NOT NULL,
    target_id       text,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_entries_at_idx ON audit_entries (at DESC, audit_id DESC);
CREATE INDEX audit_entries_actor_idx ON audit_entries (actor_token_id, at DESC, audit_id DESC);
CREATE INDEX audit_entries_action_idx ON audit_entries (action, at DESC, audit_id DESC);
CREATE INDEX audit_entries_target_idx ON audit_entries (target_id, at DESC, audit_id DESC);

-- Append-only even for SQL run by hand with the service's own role: the service has no code
-- path that changes an entry, and this trigger refuses it anyway.
CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit entries cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_entries_append_only
    BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only();

CREATE TRIGGER audit_entries_no_truncate
    BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only();
