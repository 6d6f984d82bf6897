"""Alert evaluation (CONTRACT §6): rules, the durable evaluator fed by the ingest outbox,
offline detection, and the alerts operators see."""
