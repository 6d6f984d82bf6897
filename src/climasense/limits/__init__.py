"""Per-key, per-endpoint rate limiting (CONTRACT §3)."""
