"""Webhooks: operators' endpoints, and signed `alert.opened`/`alert.resolved` deliveries
queued with the alert change and sent (with retries) by the worker."""
