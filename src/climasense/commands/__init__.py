"""Commands: queued by operators (or by a settings change), fetched and acknowledged by devices
at least once, expired by the worker (CONTRACT §4.3)."""
