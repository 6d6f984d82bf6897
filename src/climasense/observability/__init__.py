"""Metrics, logs and request tracing (CONTRACT §10)."""
