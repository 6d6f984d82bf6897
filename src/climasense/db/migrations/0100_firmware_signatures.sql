-- Signed firmware (CONTRACT §12): the Ed25519 signature of an image's manifest, verified on
-- upload against a trusted public key, and that key's id. Both or neither: unsigned images
-- (allowed unless CLIMASENSE_FIRMWARE_REQUIRE_SIGNATURE) have neither.
ALTER TABLE firmware
    ADD COLUMN signature text,
    ADD COLUMN signing_key_id text CHECK (signing_key_id ~ '^[0-9a-f]{16}$'),
    ADD CONSTRAINT firmware_signature_pair CHECK ((signature IS NULL) = (signing_key_id IS NULL));
